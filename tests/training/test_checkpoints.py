"""Checkpoint protocol: a non-finite loss keeps the last good checkpoint; a crash never leaves a half file."""

import os

import keras
import numpy as np
import pytest

from kspec.errors import SpecError
from kspec.training.checkpoints import RunCheckpoint, raise_if_failed, read_state, restore, truncate_metrics
from kspec.training.run_directory import RunDirectory


def tiny_model(*layers):
    model = keras.Sequential([keras.Input((3,)), *layers, keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)  # as after a first step: its slots are saved too
    return model


def run_directory(tmp_path):
    run = RunDirectory(tmp_path / "run")
    os.makedirs(run.checkpoint_dir)
    return run


def test_non_finite_loss_after_a_good_epoch_keeps_that_checkpoint(tmp_path):
    run, model = run_directory(tmp_path), tiny_model()
    checkpoint = RunCheckpoint(run, monitor="loss")
    checkpoint.set_model(model)
    checkpoint.on_epoch_begin(0)
    checkpoint.on_epoch_end(0, {"loss": 0.5})
    good = model.get_weights()
    checkpoint.on_epoch_begin(1)
    checkpoint.on_train_batch_end(6, {"loss": float("inf")})
    checkpoint.on_epoch_end(1, {"loss": float("inf")})
    assert model.stop_training
    assert read_state(run) == {"epoch": 1, "checkpoint": "epoch-0001.keras", "monitor": "loss", "best": 0.5,
                               "stopped_early": False, "seed_states": [], "callbacks": {}}
    with pytest.raises(SpecError) as caught:
        raise_if_failed(checkpoint)
    assert str(caught.value) == (
        f"training: loss became inf at epoch 2, batch 7; training stopped and the last good checkpoint is "
        f"{os.path.join(run.checkpoint_dir, 'epoch-0001.keras')} (epoch 1). Lower the learning rate or check the "
        f"data, then resume with --resume {run.path}"
    )
    fresh = tiny_model()
    assert restore(fresh, run)["epoch"] == 1
    for want, got in zip(good, fresh.get_weights()):
        np.testing.assert_array_equal(want, got)


def files(directory):
    """Every file under `directory` with its bytes (the lock file aside: it holds the pid of the last locker)."""
    found = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            if name != "run.lock":
                with open(path, "rb") as stream:
                    found[os.path.relpath(path, directory)] = stream.read()
    return found


@pytest.mark.parametrize("weights_only", [False, True], ids=["keras", "weights.h5"])
def test_disk_full_midway_through_a_save_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, weights_only):
    run, model = run_directory(tmp_path), tiny_model()
    checkpoint = RunCheckpoint(run, monitor="loss", weights_only=weights_only)
    checkpoint.set_model(model)
    checkpoint.on_epoch_begin(0)
    checkpoint.on_epoch_end(0, {"loss": 0.5})
    before = files(run.path)

    def write_part_then_fail(self, path, *args, **kwargs):
        with open(path, "wb") as stream:
            stream.write(b"first bytes of a checkpoint" * 100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save_weights" if weights_only else "save", write_part_then_fail)
    checkpoint.on_epoch_begin(1)
    checkpoint.on_epoch_end(1, {"loss": 0.4})
    assert model.stop_training
    # The epoch file, best, state.json and metrics.csv are byte for byte the last good ones; no temporary is left.
    assert files(run.path) == before
    suffix = ".weights.h5" if weights_only else ".keras"
    with pytest.raises(SpecError) as caught:
        raise_if_failed(checkpoint)
    assert str(caught.value) == (
        "training: saving epoch 2 into the run directory failed (No space left on device); training stopped and the "
        f"last good checkpoint is {os.path.join(run.checkpoint_dir, 'epoch-0001' + suffix)} (epoch 1). Free disk "
        f"space (or fix the file system), then resume with --resume {run.path}")


def test_too_little_space_for_the_next_checkpoint_stops_before_writing(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    run, model = run_directory(tmp_path), tiny_model()
    checkpoint = RunCheckpoint(run, monitor="loss")
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"loss": 0.5})
    before = files(run.path)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    checkpoint.on_epoch_begin(1)
    checkpoint.on_epoch_end(1, {"loss": 0.4})
    assert files(run.path) == before
    size = os.path.getsize(os.path.join(run.checkpoint_dir, "epoch-0001.keras"))
    assert checkpoint.failure == (f"saving epoch 2 into the run directory failed (only 0.0 MiB free at "
                                  f"{run.checkpoint_dir}; the checkpoints of an epoch need about {2 * size * 1.1 / 2**20:.1f} MiB)")


def test_too_little_disk_space_is_an_error_before_training(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from kspec import builder
    from support import SPECS_DIR

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 2**20, 2**20))
    spec = builder.load_spec(os.path.join(SPECS_DIR, "cnn_classifier.yaml"))
    with pytest.raises(SpecError) as caught:
        RunDirectory.reserve(spec, str(tmp_path / "run")).create(spec, required_bytes=50 * 2**20)
    assert str(caught.value) == f"--out: only 1 MiB free at {tmp_path / 'run'}; checkpoints need about 50 MiB"
    assert not os.path.exists(tmp_path / "run")


def test_checkpoint_space_counts_the_temporary_copy():
    from kspec.training.checkpoints import checkpoint_bytes

    # Four files of weights + two Adam slots at the peak (last epoch, new epoch, old best, temporary new best).
    assert checkpoint_bytes(1_000_000) == int(1_000_000 * 4 * 3 * 4 * 1.1) + 2**20


def test_callback_counters_and_seed_states_come_back_on_resume(tmp_path):
    model = tiny_model(keras.layers.Dropout(0.5))
    run = run_directory(tmp_path)
    stopping = keras.callbacks.EarlyStopping(monitor="loss", patience=5)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=4, cooldown=2)
    checkpoint = RunCheckpoint(run, monitor="loss", callbacks=[stopping, plateau])
    for callback in (stopping, plateau, checkpoint):
        callback.set_model(model)
        callback.on_train_begin()
    x = np.ones((4, 3), "float32")
    for epoch, loss in enumerate([0.5, 0.7, 0.8]):
        model(x, training=True)  # advances the dropout's seed generator
        for callback in (stopping, plateau, checkpoint):
            callback.on_epoch_begin(epoch)
        for callback in (stopping, plateau, checkpoint):
            callback.on_epoch_end(epoch, {"loss": loss})
    state = read_state(run)
    assert state["callbacks"] == {"EarlyStopping": {"wait": 2, "best": 0.5, "best_epoch": 0, "stopped_epoch": 0},
                                  "ReduceLROnPlateau": {"wait": 2, "best": 0.5, "cooldown_counter": 0}}
    seed_state = [int(v) for v in model.layers[0].seed_generator.state.numpy()]
    assert state["seed_states"] == [seed_state] and seed_state[1] == 3

    fresh = tiny_model(keras.layers.Dropout(0.5))
    resumed_state = restore(fresh, run)
    assert [int(v) for v in fresh.layers[0].seed_generator.state.numpy()] == seed_state
    stopping = keras.callbacks.EarlyStopping(monitor="loss", patience=5)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=4, cooldown=2)
    checkpoint = RunCheckpoint(run, monitor="loss", callbacks=[stopping, plateau], state=resumed_state)
    for callback in (stopping, plateau, checkpoint):  # fit's order: the counters reset, then come back
        callback.set_model(fresh)
        callback.on_train_begin()
    assert (stopping.wait, stopping.best, plateau.wait, plateau.best) == (2, 0.5, 2, 0.5)


def test_published_files_get_the_usual_permissions_not_tempfiles_0600(tmp_path):
    from kspec.training.run_directory import write_atomic

    umask = os.umask(0o022)
    try:
        write_atomic(str(tmp_path / "run.json"), "{}")
    finally:
        os.umask(umask)
    assert oct(os.stat(tmp_path / "run.json").st_mode & 0o777) == oct(0o644)


# -- a finished run damaged in the ways a user, a full disk or an attacker could ---------------------------------

CNN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "specs",
                   "cnn_classifier.yaml")
TINY = ["--set", "params.image_size=8", "--set", "data.args.size=8", "--set", "data.args.limit=60",
        "--set", "training.epochs=1"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from support import run_cli

    run = tmp_path_factory.mktemp("finished") / "run"
    result = run_cli("train", CNN, "--out", run, *TINY)
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture
def run_copy(finished_run, tmp_path):
    """A copy of the finished run, asked for one more epoch: as if it had been interrupted (--resume has work)."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy, symlinks=True)
    spec = (copy / "spec.yaml").read_text()
    (copy / "spec.yaml").write_text(spec.replace("epochs: 1\n", "epochs: 2\n"))
    return copy


def write_state(run, **changes):
    import json

    path = run / "checkpoints" / "state.json"
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, **changes}))


def link_outside(run):
    outside = run.parent / "outside.keras"
    os.replace(run / "checkpoints" / "epoch-0001.keras", outside)
    os.symlink(outside, run / "checkpoints" / "epoch-0001.keras")
    return f"checkpoint 'epoch-0001.keras' points outside the run's checkpoints/ ({outside}); refusing to load it"


STATE_ADVICE = ("; kspec writes this file itself: restore it from a backup of the run, or delete it to train the run "
                "again from epoch 0 with --resume")


@pytest.mark.parametrize("damage", [
    lambda run: ((run / "checkpoints" / "state.json").write_text("{epoch: 1"),
                 "expected JSON. Received: text that is not JSON (Expecting property name enclosed in double quotes: "
                 "line 1 column 2 (char 1))" + STATE_ADVICE),
    lambda run: ((run / "checkpoints" / "state.json").write_text("[1, 2]"), "expected a JSON object" + STATE_ADVICE),
    lambda run: (write_state(run, epoch="1"),
                 "expected `epoch` to be a positive integer. Received: epoch='1'" + STATE_ADVICE),
    lambda run: (write_state(run, checkpoint="../../../etc/passwd"),
                 "expected `checkpoint` to name a checkpoint file of this run such as epoch-0003.keras. Received: "
                 "checkpoint='../../../etc/passwd'" + STATE_ADVICE),
    lambda run: (write_state(run, checkpoint="/etc/passwd"),
                 "expected `checkpoint` to name a checkpoint file of this run such as epoch-0003.keras. Received: "
                 "checkpoint='/etc/passwd'" + STATE_ADVICE),
    lambda run: (write_state(run, seed_states=[["a", 1]]),
                 "expected `seed_states` to be a list of [seed, counter] integer pairs. Received: [['a', 1]]"
                 + STATE_ADVICE),
    lambda run: (write_state(run, callbacks={"EarlyStopping": {"model": None}}),
                 "expected `callbacks` to map EarlyStopping or ReduceLROnPlateau to their counters. Received: "
                 "{'EarlyStopping': {'model': None}}" + STATE_ADVICE),
    lambda run: (None, link_outside(run)),
    lambda run: (os.remove(run / "checkpoints" / "epoch-0001.keras"),
                 f"checkpoint {run / 'checkpoints' / 'epoch-0001.keras'} does not exist; the run cannot continue "
                 f"from it: restore it from a backup, or delete {run / 'checkpoints' / 'state.json'} to train again "
                 "from epoch 0"),
], ids=["not-json", "not-an-object", "epoch-not-int", "dot-dot-path", "absolute-path", "bad-seed-states",
        "callback-attribute-not-a-counter", "symlink-out", "missing-checkpoint"])
def test_a_damaged_state_is_one_line_and_nothing_in_the_run_changes(run_copy, damage):
    from support import run_cli

    _, message = damage(run_copy)
    before = files(run_copy)
    for command in (["train", "--resume", run_copy], ["export", run_copy, "--checkpoint", "last", "-o",
                                                      run_copy.parent / "export"]):
        result = run_cli(*command)
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == f"{run_copy / 'checkpoints' / 'state.json'}: {message}"
        assert files(run_copy) == before
    assert not (run_copy.parent / "export").exists()


def test_a_damaged_checkpoint_file_is_one_line(run_copy):
    from support import run_cli

    checkpoint = run_copy / "checkpoints" / "epoch-0001.keras"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    before = files(run_copy)
    result = run_cli("train", "--resume", run_copy)
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"{checkpoint}: cannot load this checkpoint (File is not a zip file); it is "
                                     "damaged, or was written by another model than the run's spec.yaml describes")
    assert files(run_copy) == before


def test_a_damaged_metrics_file_is_one_line(run_copy):
    from support import run_cli

    (run_copy / "metrics.csv").write_bytes(b"epoch,loss\n0,\xff\xfe\n")
    before = files(run_copy)
    result = run_cli("train", "--resume", run_copy)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{run_copy / 'metrics.csv'}: expected the CSV that kspec writes. Received: a file that is not ('utf-8' codec "
        "can't decode byte 0xff in position 13: invalid start byte); restore it from a backup of the run, or delete "
        "it (the rows of earlier epochs are then lost)")
    assert files(run_copy) == before


def test_a_checkpoint_holding_a_lambda_layer_is_refused_in_safe_mode(run_copy):
    from support import run_cli

    inputs = keras.Input((8, 8, 1), name="image")
    hostile = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    hostile.save(run_copy / "checkpoints" / "best.keras")
    before = files(run_copy)
    result = run_cli("export", run_copy, "-o", run_copy.parent / "export")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"{run_copy / 'checkpoints' / 'best.keras'}: holds a Lambda layer (Python "
                                     "code), which kspec never loads (Keras safe mode); use a checkpoint written by "
                                     "kspec")
    assert files(run_copy) == before and not (run_copy.parent / "export").exists()


def test_resume_removes_only_kspecs_own_stale_temporary_files(run_copy):
    from support import run_cli

    stale = [run_copy / ".tmp-k2j3.csv", run_copy / "checkpoints" / ".tmp-8x1.keras", run_copy / ".probe-a1"]
    kept = [run_copy / "notes.tmp", run_copy / "checkpoints" / "tmp-mine.keras"]
    for path in stale + kept:
        path.write_text("partial")
    (run_copy / "checkpoints" / ".tmp-directory").mkdir()
    result = run_cli("train", "--resume", run_copy)
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept) and (run_copy / "checkpoints" / ".tmp-directory").is_dir()
