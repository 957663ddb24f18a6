"""kspec: declarative YAML specs for Keras 3 models.

Importing kspec is cheap: it does not import TensorFlow or Keras. kspec's own layers (for instance
`kspec>Sampling`) are registered with Keras as soon as Keras is imported, before or after kspec, so
`keras.saving.load_model("model.keras")` works in any script that imported kspec.
"""

import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"


def _register_project_layers():
    # Importing the package runs the @register_layer decorators, which register with Keras.
    importlib.import_module("kspec.layers")


class _AfterKerasImport(importlib.abc.MetaPathFinder):
    """Registers kspec's layers right after the first `import keras`, without importing Keras ourselves."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            _register_project_layers()

        spec.loader.exec_module = exec_then_register
        return spec


if "keras" in sys.modules:
    _register_project_layers()
elif not any(isinstance(finder, _AfterKerasImport) for finder in sys.meta_path):
    sys.meta_path.insert(0, _AfterKerasImport())
