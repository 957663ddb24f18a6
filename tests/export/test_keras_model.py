"""kspec.export.keras_model: SavedModels that plain TensorFlow serves, ONNX/LiteRT files, atomic replacement."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from support import SPECS_DIR

from kspec.errors import SpecError

BATCH = 3

# Runs in a fresh interpreter that never imports kspec: loads each export with plain TensorFlow, calls the named
# signature with the spec's input names and prints, per export, the signatures, input names, output names and
# the largest difference from the Keras model's outputs saved by the test.
SERVE_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    import tensorflow as tf

    cases = json.loads(sys.argv[1])
    report = {}
    for case in cases:
        loaded = tf.saved_model.load(case["directory"])
        signature = loaded.signatures[case["signature"]]
        arrays = np.load(case["arrays"])
        inputs = {name: tf.constant(arrays["input:" + name]) for name in case["inputs"]}
        outputs = signature(**inputs)
        single = signature(**{name: value[:1] for name, value in inputs.items()})  # another batch size
        report[case["name"]] = {
            "signatures": sorted(loaded.signatures),
            "inputs": sorted(signature.structured_input_signature[1]),
            "input_shapes": [spec.shape.as_list() for spec in signature.structured_input_signature[1].values()],
            "outputs": sorted(outputs),
            "batch_of_one": sorted(int(value.shape[0]) for value in single.values()),
            "max_error": {name: float(np.max(np.abs(outputs[name].numpy() - arrays["output:" + name])))
                          for name in case["compare"]},
        }
    report["kspec_imported"] = "kspec" in sys.modules
    print(json.dumps(report))
""")


def build(spec_file):
    from kspec import builder

    return builder.build(os.path.join(SPECS_DIR, spec_file))


def save_expected(path, model, input_names, output_names, seed=0):
    """Calls `model` on random inputs; saves inputs and outputs by name to an .npz file for the subprocess."""
    rng = np.random.default_rng(seed)
    inputs = [rng.uniform(size=(BATCH, *tuple(t.shape)[1:])).astype("float32") for t in model.inputs]
    outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    arrays = {f"input:{name}": value for name, value in zip(input_names, inputs)}
    arrays.update({f"output:{name}": np.asarray(value) for name, value in zip(output_names, outputs)})
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Exports the CNN classifier, the VAE encoder (Sampling) and decoder and the nested autoencoder once."""
    from kspec.export import export_model

    root = tmp_path_factory.mktemp("exports")
    vae = build("vae.yaml")
    cases = [
        # (model, spec input names, output names passed, signature name, outputs compared)
        (build("cnn_classifier.yaml")["classifier"], ["image"], None, "predict", ["class_probabilities"]),
        # z is random: compare only its deterministic parts.
        (vae["encoder"], ["image"], None, "serving_default", ["z_mean", "z_log_var"]),
        (vae["decoder"], ["z"], None, "serving_default", ["image"]),
        # The autoencoder's last layer is the nested decoder model: the spec's output node name is passed.
        (build("autoencoder.yaml")["autoencoder"], ["image"], ["reconstruction"], "serving_default",
         ["reconstruction"]),
    ]
    results = {}
    for model, input_names, output_names, signature, compare in cases:
        metadata = {"model": model.name, "spec_hash": "0123abcd", "kspec_version": "0.1.0"}
        directory = export_model(model, str(root / model.name), input_names=input_names, output_names=output_names,
                                 metadata=metadata, signature_name=signature)
        output_names = output_names or list(model.output_names)
        arrays = save_expected(str(root / f"{model.name}.npz"), model, input_names, output_names)
        results[model.name] = {"name": model.name, "directory": directory, "signature": signature,
                               "inputs": input_names, "outputs": output_names, "compare": compare,
                               "metadata": metadata, "arrays": arrays}
    return results


@pytest.fixture(scope="module")
def served(exports):
    """Runs SERVE_SCRIPT once over every export and returns its report."""
    completed = subprocess.run([sys.executable, "-c", SERVE_SCRIPT, json.dumps(list(exports.values()))],
                               capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_saved_models_load_and_serve_without_kspec(served):
    assert served["kspec_imported"] is False


@pytest.mark.parametrize("name", ["classifier", "encoder", "decoder", "autoencoder"])
def test_saved_model_signature_matches_keras_model(exports, served, name):
    case, report = exports[name], served[name]
    assert report["signatures"] == sorted({"serving_default", case["signature"]})
    assert report["inputs"] == case["inputs"]
    assert report["outputs"] == sorted(case["outputs"])
    assert all(shape[0] is None for shape in report["input_shapes"])  # polymorphic batch dimension
    assert report["batch_of_one"] == [1] * len(case["outputs"])
    for output, error in report["max_error"].items():
        assert error <= 1e-5, f"{name}.{output} differs from the Keras model by {error}"


def test_saved_model_cli_lists_signature_and_input_names(exports):
    directory = exports["classifier"]["directory"]
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if os.path.exists(cli):
        completed = subprocess.run([cli, "show", "--dir", directory, "--all"], capture_output=True, text=True,
                                   timeout=120)
        assert completed.returncode == 0, completed.stderr[-2000:]
        text = completed.stdout
        assert "signature_def['predict']" in text and "signature_def['serving_default']" in text
        assert "inputs['image']" in text and "outputs['class_probabilities']" in text
        assert "shape: (-1, 28, 28, 1)" in text
    else:  # no CLI script: the same facts through the loaded object
        import tensorflow as tf

        signatures = tf.saved_model.load(directory).signatures
        assert {"predict", "serving_default"} <= set(signatures)
        assert list(signatures["predict"].structured_input_signature[1]) == ["image"]


def test_metadata_file_records_given_metadata_and_export(exports):
    case = exports["encoder"]
    with open(os.path.join(case["directory"], "kspec.json")) as file:
        record = json.load(file)
    export = record.pop("export")
    assert record == case["metadata"]
    assert export["format"] == "saved_model"
    assert export["signatures"] == ["serving_default"]
    assert export["inputs"] == {"image": {"shape": [None, 28, 28, 1], "dtype": "float32"}}
    assert export["outputs"] == ["z_mean", "z_log_var", "z"]


def small_model(name="small"):
    import keras

    inputs = [keras.Input(shape=(3,), name="x"), keras.Input(shape=(2,), name="y")]
    joined = keras.layers.Concatenate()(inputs)
    outputs = [keras.layers.Dense(2, name="scores")(joined), keras.layers.Dense(1, name="value")(joined)]
    return keras.Model(inputs, outputs, name=name)


def export_small(directory, **kwargs):
    from kspec.export import export_model

    return export_model(small_model(), str(directory), metadata={"run": "good"}, **kwargs)


def tree(directory):
    """Every file under `directory` with its bytes, to compare an export before and after."""
    contents = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                contents[os.path.relpath(path, directory)] = file.read()
    return contents


@pytest.mark.parametrize("error", ["os", "tensorflow"])
def test_disk_full_midway_keeps_previous_export_and_leaves_no_temporary_directory(tmp_path, monkeypatch, error):
    import tensorflow as tf

    target = tmp_path / "export"
    export_small(target)
    before = tree(target)

    def fail_after_writing_part(obj, export_dir, **kwargs):
        with open(os.path.join(export_dir, "saved_model.pb"), "wb") as file:
            file.write(b"half")
        if error == "os":
            raise OSError(28, "No space left on device")
        # What TensorFlow raises when the disk fills while it writes variables (seen on a full tmpfs).
        raise tf.errors.ResourceExhaustedError(None, None, "{{function_node __wrapped__SaveV2}} "
                                               f"{export_dir}/variables/part; No space left on device [Op:SaveV2]")

    monkeypatch.setattr(tf.saved_model, "save", fail_after_writing_part)
    with pytest.raises(SpecError) as caught:
        export_small(target)
    assert str(caught.value) == (f"cannot write the export {target} (No space left on device); the previous export "
                                 "is unchanged. Free disk space or choose a writable directory")
    assert tree(target) == before
    assert sorted(os.listdir(tmp_path)) == ["export"]


def test_export_into_a_read_only_directory_is_one_line_and_writes_nothing(tmp_path, monkeypatch):
    import kspec.export.keras_model

    def read_only(*args, **kwargs):  # what mkdtemp meets on a read-only mount (tests may run as root)
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(kspec.export.keras_model.tempfile, "mkdtemp", read_only)
    with pytest.raises(SpecError) as caught:
        export_small(tmp_path / "export")
    assert str(caught.value) == (f"cannot write the export {tmp_path / 'export'} (Read-only file system); nothing "
                                 "was written. Free disk space or choose a writable directory")
    assert os.listdir(tmp_path) == []


def test_export_failing_at_the_swap_puts_previous_export_back(tmp_path, monkeypatch):
    import kspec.export.keras_model

    target = tmp_path / "export"
    export_small(target)
    before = tree(target)
    rename = os.rename

    def refuse_to_move_staging_in(source, destination):
        if ".kspec-export-" in os.fspath(source):
            raise OSError("rename failed")
        rename(source, destination)

    monkeypatch.setattr(kspec.export.keras_model.os, "rename", refuse_to_move_staging_in)
    with pytest.raises(SpecError) as caught:
        export_small(target)
    assert str(caught.value) == (f"cannot write the export {target} (rename failed); the previous export is "
                                 "unchanged. Free disk space or choose a writable directory")
    assert tree(target) == before
    assert sorted(os.listdir(tmp_path)) == ["export"]


def test_second_export_replaces_the_first(tmp_path):
    target = tmp_path / "export"
    export_small(target, signature_name="first")
    export_small(target, signature_name="second")
    with open(target / "kspec.json") as file:
        assert json.load(file)["export"]["signatures"] == ["second", "serving_default"]
    assert sorted(os.listdir(tmp_path)) == ["export"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o777 & ~umask  # readable by others, not mkdtemp's private 0700


def test_export_refuses_to_replace_a_directory_it_did_not_write(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(SpecError) as error:
        export_small(precious)
    assert str(error.value) == (f"{precious} exists and is not a kspec export (it has no kspec.json); refusing to "
                                "replace it: choose another export directory or remove it")
    assert (precious / "notes.txt").read_text() == "keep me"


def test_unknown_format_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError) as error:
        export_small(tmp_path / "export", format="torchscript")
    assert str(error.value) == "format: expected one of saved_model, onnx, litert. Received: format='torchscript'"
    assert not os.path.exists(tmp_path / "export")


def test_extra_signatures_need_a_saved_model(tmp_path):
    with pytest.raises(SpecError) as error:
        export_small(tmp_path / "export", format="litert", extra_signatures={"mc_dropout": small_model()})
    assert str(error.value) == ("format: only a saved_model holds several signatures (mc_dropout). Received: "
                                "format='litert'")
    assert os.listdir(tmp_path) == []


def test_onnx_without_its_packages_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # makes `import tf2onnx` raise ImportError
    with pytest.raises(SpecError) as error:
        export_small(tmp_path / "export", format="onnx")
    assert str(error.value) == ("format: ONNX export needs the `tf2onnx` and `onnx` packages (`tf2onnx` is "
                                "missing): pip install 'kspec[onnx]'")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("arguments, message", [
    ({"output_names": ["only_one"]}, "Invalid value for argument `output_names`: expected 2 names, one per output "
                                     "of model `small`. Received: output_names=['only_one']"),
    ({"input_names": ["a", "a"]}, "Invalid value for argument `input_names`: expected distinct names. Received: "
                                  "input_names=['a', 'a'] (repeated: a)"),
    ({"metadata": {"export": 1}}, "Invalid value for argument `metadata`: the key `export` is reserved for kspec's "
                                  "own record. Received keys: ['export']"),
    ({"metadata": {"when": object}}, "Invalid value for argument `metadata`: expected a JSON-serialisable dict. "
                                     "Object of type type is not JSON serializable"),
    ({"signature_name": "predict", "extra_signatures": {"predict": None, "serving_default": None}},
     "Invalid value for argument `extra_signatures`: expected names other than the main signature's. "
     "Received: predict, serving_default"),
])
def test_bad_arguments_fail_before_anything_is_written(tmp_path, arguments, message):
    from kspec.export import export_model

    with pytest.raises(ValueError) as error:
        export_model(small_model(), str(tmp_path / "export"), **arguments)
    assert str(error.value) == message
    assert os.listdir(tmp_path) == []


def packages_installed(*names):
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            return False
    return True


@pytest.mark.filterwarnings("ignore::FutureWarning")  # Keras' tf2onnx patch probes `np.object`
def test_onnx_export_names_inputs_and_outputs_or_says_what_to_install(tmp_path):
    target = tmp_path / "export"
    if not packages_installed("tf2onnx", "onnx", "onnxruntime"):
        with pytest.raises(SpecError, match=r"pip install 'kspec\[onnx\]'"):
            export_small(target, format="onnx")
        return
    import onnxruntime

    model = small_model()
    from kspec.export import export_model

    export_model(model, str(target), format="onnx")
    session = onnxruntime.InferenceSession(str(target / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["x", "y"]
    x, y = np.ones((4, 3), "float32"), np.ones((4, 2), "float32")
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"x": x, "y": y})))
    want = model([x, y])
    np.testing.assert_allclose(got["scores"], want[0], atol=1e-5)
    np.testing.assert_allclose(got["value"], want[1], atol=1e-5)
    assert os.path.exists(target / "kspec.json")


def test_onnx_export_of_a_random_sampling_layer_is_refused(tmp_path):
    from kspec.export import export_model

    encoder = build("vae.yaml")["encoder"]
    with pytest.raises(SpecError) as error:
        export_model(encoder, str(tmp_path / "export"), format="onnx")
    if packages_installed("tf2onnx", "onnx"):
        assert str(error.value) == (
            "format: model `encoder` cannot be exported to ONNX (TensorFlow ops with no ONNX equivalent: "
            "StatelessRandomNormalV2); export it as a saved_model, or export a model without that layer "
            "(e.g. random `sampling`)")
    assert os.listdir(tmp_path) == []


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_litert_export_names_inputs_and_outputs(tmp_path):
    import tensorflow as tf

    from kspec.export import export_model

    model = small_model()
    target = tmp_path / "export"
    export_model(model, str(target), format="litert")
    interpreter = tf.lite.Interpreter(model_path=str(target / "model.tflite"))
    runner = interpreter.get_signature_runner("serving_default")
    x, y = np.ones((1, 3), "float32"), np.full((1, 2), 2.0, "float32")
    got = runner(x=x, y=y)
    want = model([x, y])
    assert sorted(got) == ["scores", "value"]
    np.testing.assert_allclose(got["scores"], want[0], atol=1e-5)
    np.testing.assert_allclose(got["value"], want[1], atol=1e-5)
    shutil.rmtree(target)


def test_litert_without_its_converter_says_what_to_install(tmp_path, monkeypatch):
    import types

    import tensorflow as tf

    monkeypatch.setattr(tf, "lite", types.SimpleNamespace())  # a TensorFlow without tf.lite.TFLiteConverter
    with pytest.raises(SpecError) as error:
        export_small(tmp_path / "export", format="litert")
    assert str(error.value) == (f"format: LiteRT export needs TensorFlow's `tf.lite.TFLiteConverter`, which TensorFlow "
                                f"{tf.__version__} lacks: install a TensorFlow that ships it (2.18 to 2.21 do)")
    assert os.listdir(tmp_path) == []


def test_repeated_output_names_are_listed_once_each(tmp_path):
    from kspec.export.keras_model import _check_unique

    with pytest.raises(ValueError) as error:
        _check_unique("output_names", ["b", "a", "b", "a", "c"])
    assert str(error.value) == ("Invalid value for argument `output_names`: expected distinct names. Received: "
                                "output_names=['b', 'a', 'b', 'a', 'c'] (repeated: a, b)")


def test_an_integer_input_keeps_its_dtype_in_the_signature_and_kspec_json_is_sorted(tmp_path):
    import keras
    import tensorflow as tf

    from kspec.export import export_model

    tokens = keras.Input(shape=(4,), dtype="int32", name="tokens")
    model = keras.Model(tokens, keras.layers.Dense(1, name="score")(keras.ops.cast(tokens, "float32")))
    export_model(model, str(tmp_path / "export"), metadata={"zeta": 1, "alpha": 2})
    signature = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"]
    assert signature.structured_input_signature[1]["tokens"].dtype == tf.int32
    text = (tmp_path / "export" / "kspec.json").read_text()
    assert [line.split('"')[1] for line in text.splitlines() if line.startswith('  "')] == ["alpha", "export", "zeta"]


def test_an_export_works_in_hidden_directories_and_an_old_export_it_cannot_delete_does_not_fail_it(tmp_path,
                                                                                                   monkeypatch):
    import tempfile

    target = tmp_path / "export"
    export_small(target, signature_name="first")
    prefixes = []
    mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda prefix, dir: prefixes.append(prefix) or mkdtemp(prefix, dir=dir))
    unlink = os.unlink

    def undeletable(path, *args, **kwargs):  # the old export's files resist deletion; nothing else is deleted
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "unlink", undeletable)
    assert export_small(target, signature_name="second") == str(target)
    monkeypatch.setattr(os, "unlink", unlink)
    # Staging and the old export's place aside are hidden and say whose they are; the new export is in place.
    assert prefixes == [".export.kspec-export-", ".export.kspec-old-"]
    with open(target / "kspec.json") as file:
        assert json.load(file)["export"]["signatures"] == ["second", "serving_default"]


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_litert_export_of_a_one_input_model_takes_that_input_by_name(tmp_path):
    import keras
    import tensorflow as tf

    from kspec.export import export_model

    image = keras.Input(shape=(3,), name="image")
    model = keras.Model(image, keras.layers.Dense(2, name="logits")(image))
    export_model(model, str(tmp_path / "export"), format="litert")
    runner = tf.lite.Interpreter(model_path=str(tmp_path / "export" / "model.tflite")).get_signature_runner(
        "serving_default")
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(runner(image=x)["logits"], model(x), atol=1e-5)
