"""Atomic publication: every file kspec writes replaces its target by one rename, or not at all.

Two properties, checked on each writer that publishes a file (run records and metrics, model checkpoints,
sample grids, feature statistics):
- the target is never opened for writing: a hard link taken to the old file before the write still holds the
  old bytes afterwards (both names share one inode, so writing the target in place would change the link too);
- a crash after some bytes reached the temporary file (the writer fails midway, or the final rename fails)
  raises, leaves the target's old bytes, and leaves no temporary file behind.
"""

import os

import numpy as np
import pytest

OLD = b"old bytes that a good earlier write left here\n"


class Crash(OSError):
    """The simulated failure (a subclass of OSError, like a full disk)."""


def write_text(path):
    from kspec.training.run_directory import write_atomic

    write_atomic(str(path), "new text\n")


def tiny_model():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="tiny")
    model.compile(optimizer="adam", loss="mse")
    return model


def save_model(path):
    from kspec.builder.save import save_model_atomic

    save_model_atomic(tiny_model(), str(path))


def save_png(path):
    from kspec.trainers.sample_grid import write_png

    write_png(np.full((4, 4, 1), 200, "uint8"), str(path))


def save_statistics(path):
    from kspec.metrics.statistics import FeatureStatistics

    FeatureStatistics.from_moments(np.zeros(2), np.eye(2), 10, extractor="toy").save(str(path))


def partial_write(target_of):
    """A replacement for a writer: puts a few bytes where the writer was asked to write, then fails."""

    def write(*args, **kwargs):
        destination = target_of(*args, **kwargs)
        if isinstance(destination, (str, os.PathLike)):
            with open(destination, "wb") as stream:
                stream.write(b"half a file")
        else:  # an open file object
            destination.write(b"half a file")
            destination.flush()
        raise Crash("simulated crash in the middle of writing")

    return write


def crash_in_fsync(monkeypatch):
    # write_atomic writes and flushes, then fsyncs: the bytes are in the temporary file when fsync fails.
    def fail(descriptor):
        assert os.fstat(descriptor).st_size > 0, "the crash should come after some bytes were written"
        raise Crash("simulated crash in fsync")

    monkeypatch.setattr(os, "fsync", fail)


def crash_in_keras_save(monkeypatch):
    import keras

    monkeypatch.setattr(keras.Model, "save", partial_write(lambda model, path, *a, **k: path))


def crash_in_png_encoder(monkeypatch):
    from PIL import Image

    monkeypatch.setattr(Image.Image, "save", partial_write(lambda image, file, *a, **k: file))


def crash_in_savez(monkeypatch):
    monkeypatch.setattr(np, "savez", partial_write(lambda file, *a, **k: file))


def crash_at_rename(monkeypatch):
    """The whole temporary file is written; publishing it fails."""

    def fail(source, destination, *args, **kwargs):
        assert os.path.getsize(source) > 0, "the crash should come after some bytes were written"
        raise Crash("simulated crash at the rename")

    monkeypatch.setattr(os, "replace", fail)
    monkeypatch.setattr(os, "rename", fail)


# (writer, file name of the target, crash in the middle of that writer's own writing)
WRITERS = {
    "write_atomic": (write_text, "metrics.csv", crash_in_fsync),
    "save_model_atomic": (save_model, "best.keras", crash_in_keras_save),
    "write_png": (save_png, "samples_0001.png", crash_in_png_encoder),
    "FeatureStatistics.save": (save_statistics, "stats.npz", crash_in_savez),
}


@pytest.fixture
def target(tmp_path):
    """An existing target file with OLD bytes in its own directory, and a hard link to it elsewhere."""

    def make(name):
        directory = tmp_path / "published"
        directory.mkdir()
        path = directory / name
        path.write_bytes(OLD)
        witness = tmp_path / "witness"
        os.link(path, witness)
        return path, witness

    return make


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_write_replaces_the_target_by_rename_never_writing_into_it(target, writer):
    write, name, _ = WRITERS[writer]
    path, witness = target(name)
    write(path)
    assert witness.read_bytes() == OLD, "the old file was opened for writing instead of being replaced"
    assert path.read_bytes() != OLD and path.stat().st_size > 0
    assert not os.path.samefile(path, witness)
    assert os.listdir(path.parent) == [name], "a temporary file was left beside the target"


@pytest.mark.parametrize("crash", ["midway", "at rename"])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_crash_after_some_bytes_were_written_keeps_the_old_file_and_no_temporary(target, monkeypatch, writer, crash):
    write, name, crash_midway = WRITERS[writer]
    path, witness = target(name)
    if writer == "save_model_atomic":
        tiny_model()  # build before the patch: Keras itself must not meet the simulated crash
    (crash_midway if crash == "midway" else crash_at_rename)(monkeypatch)
    with pytest.raises(Crash):
        write(path)
    assert path.read_bytes() == OLD
    assert witness.read_bytes() == OLD
    assert os.listdir(path.parent) == [name], "a temporary file was left beside the target"


def test_a_weights_checkpoint_that_fails_midway_keeps_the_old_weights(target, monkeypatch):
    import keras

    from kspec.builder.save import save_model_atomic

    path, witness = target("epoch-0001.weights.h5")
    model = tiny_model()
    monkeypatch.setattr(keras.Model, "save_weights", partial_write(lambda model, path, *a, **k: path))
    with pytest.raises(Crash):
        save_model_atomic(model, str(path))
    assert path.read_bytes() == OLD and witness.read_bytes() == OLD
    assert os.listdir(path.parent) == ["epoch-0001.weights.h5"]


def test_a_weights_checkpoint_replaces_the_target_by_rename(target):
    from kspec.builder.save import save_model_atomic

    path, witness = target("epoch-0001.weights.h5")
    model = tiny_model()
    save_model_atomic(model, str(path))
    assert witness.read_bytes() == OLD
    restored = tiny_model()
    restored.load_weights(str(path))
    for want, got in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(want, got)
    assert os.listdir(path.parent) == ["epoch-0001.weights.h5"]
