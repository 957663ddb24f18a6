"""`kspec build -o`'s saving: one model to a `.keras` file, or each model to `<name>.keras` in a directory."""

import os

import keras
import numpy as np
import pytest

from kspec.builder.save import save_model_atomic, save_models
from kspec.errors import SpecError


def tiny(name, units):
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(units)], name=name)


@pytest.fixture(scope="module")
def models():
    return {"encoder": tiny("encoder", 2), "decoder": tiny("decoder", 4)}


def output_units(path):
    return keras.saving.load_model(path).output_shape[-1]


def test_a_directory_gets_one_keras_file_per_model_named_after_it(tmp_path, models):
    output = tmp_path / "new" / "models"  # created, parents included
    paths = save_models(models, str(output))
    assert paths == [str(output / "encoder.keras"), str(output / "decoder.keras")]
    assert sorted(os.listdir(output)) == ["decoder.keras", "encoder.keras"]
    assert (output_units(paths[0]), output_units(paths[1])) == (2, 4)


def test_a_keras_file_gets_the_one_model_named_with_model(tmp_path, models):
    output = str(tmp_path / "net.keras")
    assert save_models(models, output, model_name="decoder") == [output]
    assert output_units(output) == 4
    assert os.listdir(tmp_path) == ["net.keras"]


def test_a_directory_with_model_gets_only_that_model(tmp_path, models):
    assert save_models(models, str(tmp_path), model_name="encoder") == [str(tmp_path / "encoder.keras")]
    assert os.listdir(tmp_path) == ["encoder.keras"]


def test_a_spec_with_one_model_saves_it_to_the_keras_file(tmp_path, models):
    output = str(tmp_path / "net.keras")
    assert save_models({"decoder": models["decoder"]}, output) == [output]
    assert output_units(output) == 4


@pytest.mark.parametrize("model_name, output, message", [
    (None, "net.keras", "-o: the spec has 2 models (encoder, decoder); pick one with --model NAME or give a "
                        "directory to -o to save them all"),
    ("decoderr", "net.keras", "--model: no model `decoderr` in the spec; it has: encoder, decoder"),
    ("decoderr", "out", "--model: no model `decoderr` in the spec; it has: encoder, decoder"),
])
def test_an_ambiguous_or_unknown_model_is_one_line_and_writes_nothing(tmp_path, models, model_name, output, message):
    with pytest.raises(SpecError) as caught:
        save_models(models, str(tmp_path / output), model_name=model_name)
    assert str(caught.value) == message
    assert os.listdir(tmp_path) == []


def test_a_saved_model_keeps_its_weights_and_gets_the_usual_permissions(tmp_path, models):
    umask = os.umask(0o027)
    try:
        path = save_model_atomic(models["encoder"], str(tmp_path / "sub" / "encoder.keras"))
    finally:
        os.umask(umask)
    assert path == str(tmp_path / "sub" / "encoder.keras")
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o640)  # 0666 less the umask, not mkstemp's 0600
    for want, got in zip(models["encoder"].get_weights(), keras.saving.load_model(path).get_weights()):
        np.testing.assert_array_equal(want, got)


def test_a_bare_file_name_saves_into_the_current_directory(tmp_path, monkeypatch, models):
    monkeypatch.chdir(tmp_path)
    assert save_models(models, "net.keras", model_name="encoder") == ["net.keras"]
    assert os.listdir(tmp_path) == ["net.keras"] and output_units(tmp_path / "net.keras") == 2


@pytest.mark.parametrize("name, writer", [("net.keras", "save"), ("epoch-0001.weights.h5", "save_weights")])
def test_a_save_writes_beside_the_target_under_a_name_resume_cleans_up(tmp_path, monkeypatch, models, name, writer):
    import fnmatch

    from kspec.training.run_directory import TEMPORARY_PATTERNS

    written = []
    original = getattr(keras.Model, writer)

    def spy(model, path, *args, **kwargs):
        written.append(path)
        return original(model, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, writer, spy)
    save_model_atomic(models["encoder"], str(tmp_path / name))
    (temporary,) = written
    # Beside the target: os.replace is atomic only within one file system. A kill -9 mid-write leaves this
    # file behind, and resume removes only names it knows as kspec's own.
    assert os.path.dirname(temporary) == str(tmp_path)
    assert any(fnmatch.fnmatch(os.path.basename(temporary), pattern) for pattern in TEMPORARY_PATTERNS)
    # Keras picks the format by the extension: the temporary must carry the target's.
    assert temporary.endswith(".weights.h5" if name.endswith(".weights.h5") else ".keras")
    assert os.listdir(tmp_path) == [name]
