"""NumPy, imported on first use.

`kspec validate` imports every data source to know their names and arguments, and must stay fast and free of
NumPy; the sources use NumPy only when they read data. `from kspec.data.lazy_numpy import np` gives them a
stand-in that imports NumPy at its first attribute access.

Example:
>>> from kspec.data.lazy_numpy import np
>>> np.zeros(3).tolist()
[0.0, 0.0, 0.0]
"""

import importlib


class _LazyNumPy:
    def __getattr__(self, name):
        return getattr(importlib.import_module("numpy"), name)


np = _LazyNumPy()
