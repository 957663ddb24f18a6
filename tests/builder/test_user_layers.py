"""User layers come only from modules the spec lists in `imports:` and the user allows on the command line."""

from support import run_cli

LAYER_MODULE = '''
import keras

@keras.saving.register_keras_serializable(package="user")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
'''

SPEC = """kspec: 1
imports: [my_layers]
models:
  net:
    inputs: {x: [4]}
    layers:
      - my_layers.Scale: {factor: 3.0}
"""


def test_user_layer_is_refused_until_allowed_then_builds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "imported"
    (tmp_path / "my_layers.py").write_text(f"open({str(marker)!r}, 'w').close()\n" + LAYER_MODULE)
    (tmp_path / "spec.yaml").write_text(SPEC)

    refused = run_cli("validate", "spec.yaml")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        "spec.yaml:2:10: imports: spec imports user layers from `my_layers`; nothing is imported unless you allow it: "
        "pass --allow-import my_layers"
    )
    assert not marker.exists()

    allowed = run_cli("summary", "spec.yaml", "--allow-import", "my_layers")
    assert allowed.exit_code == 0, allowed.output
    assert "Scale" in allowed.stdout and marker.exists()


def test_user_layer_arguments_are_checked_against_its_signature(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_layers.py").write_text(LAYER_MODULE)
    (tmp_path / "spec.yaml").write_text(SPEC.replace("factor: 3.0", "factr: 3.0"))
    result = run_cli("validate", "spec.yaml", "--allow-import", "my_layers")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "spec.yaml:7:34: models.net.layers[0].my_layers.Scale.factr: `my_layers.Scale` has no argument `factr` (did you mean 'factor'?)"
    )
