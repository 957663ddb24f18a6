"""Checkpoint protocol: a non-finite loss keeps the last good checkpoint; a crash never leaves a half file."""

import os

import keras
import numpy as np
import pytest

from kspec.errors import SpecError
from kspec.training.checkpoints import RunCheckpoint, raise_if_failed, read_state, restore
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


def checkpointed(tmp_path, monitor="loss", **arguments):
    """A run directory, a tiny compiled model and its `RunCheckpoint`, as `fit` would set them up."""
    run, model = run_directory(tmp_path), tiny_model()
    checkpoint = RunCheckpoint(run, monitor=monitor, **arguments)
    checkpoint.set_model(model)
    return run, model, checkpoint


# First in the file: a mutant that drops steps_per_epoch makes the training runs below loop forever on the endless
# training stream, so this quick test must fail before them.
class _RecordingModel:
    def __init__(self):
        self.calls = []

    def fit(self, stream, **arguments):
        self.calls.append((stream, arguments))


class _Data:
    batches_per_epoch = 5

    def training_stream(self, start_batch):
        return f"stream from batch {start_batch}"


class _Config:
    def __init__(self, epochs=4, steps_per_epoch=None):
        self.epochs, self.steps_per_epoch = epochs, steps_per_epoch


@pytest.mark.parametrize("state, config, epochs, expected", [
    (None, _Config(), None, ("stream from batch 0", {"epochs": 4, "initial_epoch": 0, "steps_per_epoch": 5})),
    ({"epoch": 2}, _Config(), None, ("stream from batch 10", {"epochs": 4, "initial_epoch": 2, "steps_per_epoch": 5})),
    ({"epoch": 1}, _Config(steps_per_epoch=3), 2,
     ("stream from batch 3", {"epochs": 2, "initial_epoch": 1, "steps_per_epoch": 3})),
    ({"epoch": 3}, _Config(), None, ("stream from batch 15", {"epochs": 4, "initial_epoch": 3, "steps_per_epoch": 5})),
    ({"epoch": 4}, _Config(), None, None),  # every epoch done
    ({"epoch": 5}, _Config(), None, None),
    ({"epoch": 1, "stopped_early": True}, _Config(), None, None),  # EarlyStopping ended the run
    ({"epoch": 1, "stopped_early": False}, _Config(), None,
     ("stream from batch 5", {"epochs": 4, "initial_epoch": 1, "steps_per_epoch": 5})),
])
def test_fit_from_state_continues_with_the_next_epoch_and_its_first_batch(state, config, epochs, expected):
    from kspec.training.checkpoints import fit_from_state

    model = _RecordingModel()
    fit_from_state(model, _Data(), config, state, epochs=epochs, verbose=0)
    if expected is None:
        assert model.calls == []
    else:
        stream, arguments = expected
        assert model.calls == [(stream, {**arguments, "shuffle": False, "verbose": 0})]


def test_non_finite_loss_after_a_good_epoch_keeps_that_checkpoint(tmp_path):
    run, model, checkpoint = checkpointed(tmp_path)
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
    run, model, checkpoint = checkpointed(tmp_path, weights_only=weights_only)
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

    run, model, checkpoint = checkpointed(tmp_path)
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


def test_checkpoint_file_refuses_a_directory_and_names_the_checkpoint(tmp_path):
    from kspec.training.checkpoints import checkpoint_file

    run = run_directory(tmp_path)
    os.mkdir(os.path.join(run.checkpoint_dir, "best.keras"))
    with pytest.raises(SpecError) as caught:
        checkpoint_file(run, "best.keras")
    path = os.path.join(run.checkpoint_dir, "best.keras")
    assert str(caught.value) == (f"checkpoint {path} is not a regular file; the run cannot continue from it: "
                                 f"restore it from a backup, or delete {os.path.join(run.checkpoint_dir, 'state.json')} "
                                 "to train again from epoch 0")
    os.rmdir(path)
    outside = tmp_path / "elsewhere.keras"
    outside.write_bytes(b"")
    os.symlink(outside, path)
    with pytest.raises(SpecError) as caught:
        checkpoint_file(run, "best.keras")
    assert str(caught.value) == (f"{path}: checkpoint 'best.keras' points outside the run's checkpoints/ ({outside}); "
                                 "refusing to load it")


def test_a_damaged_model_file_is_one_line_naming_it(tmp_path):
    from kspec.training.checkpoints import load_keras_model

    import zipfile

    path = tmp_path / "best.keras"
    with zipfile.ZipFile(path, "w") as archive:  # a zip, but not a Keras model
        archive.writestr("notes.txt", "hello")
    with pytest.raises(SpecError) as caught:
        load_keras_model(str(path))
    assert str(caught.value) == (f"{path}: cannot load this model file (\"There is no item named 'config.json' in the "
                                 "archive\"); it is damaged or not a .keras model written by kspec")


def test_restore_brings_back_the_optimizer_state_of_the_checkpoint(tmp_path):
    # A freshly compiled model has an unbuilt optimizer: without building it first, Keras skips the saved
    # slots (Adam's moments, the step count) and the resumed run would start its optimizer from zero.
    run = run_directory(tmp_path)
    trained = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    trained.compile(optimizer="adam", loss="mse")
    trained.fit(np.ones((8, 3)), np.zeros((8, 2)), batch_size=4, epochs=1, verbose=0,
                callbacks=[RunCheckpoint(run, monitor="loss")])
    fresh = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    fresh.compile(optimizer="adam", loss="mse")
    assert not fresh.optimizer.built
    restore(fresh, run)
    assert int(fresh.optimizer.iterations.numpy()) == 2
    for want, got in zip(trained.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(want), np.asarray(got))


def test_a_failure_in_the_first_epoch_says_there_is_no_checkpoint(tmp_path):
    run, model, checkpoint = checkpointed(tmp_path)
    checkpoint.on_epoch_begin(0)
    checkpoint.on_train_batch_end(0, {"loss": float("nan")})
    with pytest.raises(SpecError) as caught:
        raise_if_failed(checkpoint)
    assert str(caught.value) == (
        "training: loss became nan at epoch 1, batch 1; training stopped and no epoch had finished, so there is no "
        f"checkpoint. Lower the learning rate or check the data, then resume with --resume {run.path}")
    assert os.listdir(run.checkpoint_dir) == []


def test_callback_counters_are_stored_as_plain_json_values():
    from kspec.training.checkpoints import _plain

    values = [None, True, 3, "min", np.float32(0.25), np.int64(7), np.float64(1.5)]
    plain = [_plain(v) for v in values]
    assert plain == [None, True, 3, "min", 0.25, 7.0, 1.5]
    assert [type(v) for v in plain] == [type(None), bool, int, str, float, float, float]


def test_a_truncated_model_file_is_one_line_naming_it(tmp_path):
    # Keras itself calls a .keras file that is not a zip archive "not found".
    from kspec.training.checkpoints import load_keras_model

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = tmp_path / "best.keras"
    model.save(path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(SpecError) as caught:
        load_keras_model(str(path))
    assert str(caught.value) == (f"{path}: cannot load this model file (it is not a zip archive, as .keras files "
                                 "are); it is damaged or not a .keras model written by kspec")


def test_restore_without_a_committed_epoch_keeps_only_the_metrics_header(tmp_path):
    run, model = run_directory(tmp_path), tiny_model()
    with open(run.metrics_file, "w") as stream:
        stream.write("epoch,loss\n0,0.5\n1,0.25\n")
    assert restore(model, run) is None
    with open(run.metrics_file) as stream:
        assert stream.read() == "epoch,loss\n"


def test_restore_builds_every_optimizer_of_a_trainer(tmp_path):
    # A GAN keeps two optimizers (d_optimizer, g_optimizer) besides Keras' own `optimizer` attribute; each must
    # be built before loading, or its saved state is skipped.
    from kspec.trainers.gan import GAN

    def gan():
        generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
        discriminator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        trainer = GAN(generator, discriminator, seed=0)
        trainer.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
        return trainer

    run, trained = run_directory(tmp_path), gan()
    trained.fit(np.ones((8, 3), "float32"), batch_size=4, epochs=1, verbose=0,
                callbacks=[RunCheckpoint(run, monitor="g_loss", weights_only=True)])
    fresh = gan()
    restore(fresh, run)
    for name in ("d_optimizer", "g_optimizer"):
        want, got = getattr(trained, name), getattr(fresh, name)
        assert int(got.iterations.numpy()) == int(want.iterations.numpy()) == 2, name
        for a, b in zip(want.variables, got.variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def state_of(run, text):
    with open(os.path.join(run.checkpoint_dir, "state.json"), "w") as stream:
        stream.write(text)
    return read_state(run)


VALID_STATE = '{"epoch": 1, "checkpoint": "epoch-0001.keras"}'


@pytest.mark.parametrize("text, problem", [
    (VALID_STATE + " " * (2**20 + 1 - len(VALID_STATE)), "expected a regular file of at most 1 MiB"),
    ('{"epoch": 0, "checkpoint": "epoch-0001.keras"}', "expected `epoch` to be a positive integer. Received: epoch=0"),
    ('{"epoch": true, "checkpoint": "epoch-0001.keras"}',
     "expected `epoch` to be a positive integer. Received: epoch=True"),
], ids=["over-1-MiB", "epoch-0", "epoch-true"])
def test_read_state_refuses_what_kspec_never_writes(tmp_path, text, problem):
    run = run_directory(tmp_path)
    with pytest.raises(SpecError) as caught:
        state_of(run, text)
    assert str(caught.value) == f"{os.path.join(run.checkpoint_dir, 'state.json')}: {problem}{STATE_ADVICE}"


def test_read_state_takes_a_state_of_exactly_1_mib_and_refuses_a_directory(tmp_path):
    run = run_directory(tmp_path)
    assert state_of(run, VALID_STATE + " " * (2**20 - len(VALID_STATE)))["epoch"] == 1
    os.remove(os.path.join(run.checkpoint_dir, "state.json"))
    os.mkdir(os.path.join(run.checkpoint_dir, "state.json"))
    with pytest.raises(SpecError, match="state.json: expected a regular file of at most 1 MiB;"):
        read_state(run)


@pytest.mark.parametrize("extra, problem", [
    ({"best": "0.5"}, "expected `best` to be a number or null. Received: best='0.5'"),
    ({"callbacks": {"EarlyStopping": {"wait": "2"}}},
     "expected `callbacks` to map EarlyStopping or ReduceLROnPlateau to their counters. Received: "
     "{'EarlyStopping': {'wait': '2'}}"),
])
def test_read_state_refuses_optional_fields_of_the_wrong_type(tmp_path, extra, problem):
    import json

    run = run_directory(tmp_path)
    with pytest.raises(SpecError) as caught:
        state_of(run, json.dumps({**json.loads(VALID_STATE), **extra}))
    assert str(caught.value) == f"{os.path.join(run.checkpoint_dir, 'state.json')}: {problem}{STATE_ADVICE}"


def test_read_state_takes_every_optional_field_kspec_writes(tmp_path):
    import json

    state = {**json.loads(VALID_STATE), "best": None, "seed_states": [[1, 2]],
             "callbacks": {"EarlyStopping": {"wait": 2, "best": 0.5, "best_epoch": None}}}
    assert state_of(run_directory(tmp_path), json.dumps(state)) == state


@pytest.mark.parametrize("arguments, values, best", [
    ({}, [0.5, 0.7, 0.3], 0.3),  # monitors val_loss by default, lower is better
    ({"monitor": "val_accuracy"}, [0.5, 0.7, 0.3], 0.7),  # mode defaults to auto: higher is better for accuracy
])
def test_run_checkpoint_defaults_to_val_loss_and_to_the_direction_of_the_name(tmp_path, arguments, values, best):
    run, model = run_directory(tmp_path), tiny_model()
    checkpoint = RunCheckpoint(run, **arguments)  # no monitor: the default is what this test is about
    checkpoint.set_model(model)
    monitor = arguments.get("monitor", "val_loss")
    for epoch, value in enumerate(values):
        checkpoint.on_epoch_end(epoch, {"loss": 1.0, "val_loss": 1.0, monitor: value})
    state = read_state(run)
    assert (state["monitor"], state["best"]) == (monitor, best)


@pytest.mark.parametrize("monitor, higher_is_better", [
    ("val_accuracy", True), ("val_mean_iou", True), ("val_auc", True), ("val_precision", True),
    ("val_recall", True), ("is_mean", True), ("inception_score", True),
    ("val_loss", False), ("fid", False), ("kid", False),
])
def test_auto_mode_reads_the_direction_from_the_monitored_name(tmp_path, monitor, higher_is_better):
    checkpoint = RunCheckpoint(run_directory(tmp_path), monitor=monitor)
    assert checkpoint._better(0.6, 0.5) is higher_is_better
    assert checkpoint._better(0.4, 0.5) is not higher_is_better
    assert checkpoint._better(0.5, 0.5) is False  # an equal value is no improvement, in either direction
    assert checkpoint._better(0.5, None) is True


def test_a_non_finite_validation_loss_stops_before_its_epoch_is_saved(tmp_path):
    run, model, checkpoint = checkpointed(tmp_path, monitor="val_loss")
    checkpoint.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.6, "fid": float("nan")})  # a NaN metric is no loss
    assert not model.stop_training and read_state(run)["epoch"] == 1
    checkpoint.on_epoch_end(1, {"loss": 0.4, "val_loss": float("nan")})
    assert model.stop_training and read_state(run)["epoch"] == 1
    assert (checkpoint.failure, checkpoint.advice) == (
        "a loss became non-finite in epoch 2: {'loss': 0.4, 'val_loss': nan}", "Lower the learning rate or check the data")


def test_a_failed_save_in_the_first_epoch_leaves_only_the_metrics_header(tmp_path, monkeypatch):
    run, model, checkpoint = checkpointed(tmp_path)

    def no_space(self, path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", no_space)
    checkpoint.on_epoch_end(0, {"loss": 0.5})
    assert model.stop_training and read_state(run) is None
    with open(run.metrics_file) as stream:
        assert stream.read() == "epoch,loss\n"


def test_the_state_records_that_early_stopping_ended_the_run(tmp_path):
    run, model, checkpoint = checkpointed(tmp_path)
    checkpoint.on_epoch_end(0, {"loss": 0.5})
    assert read_state(run)["stopped_early"] is False
    model.stop_training = True  # what EarlyStopping's on_epoch_end, which runs first, does
    checkpoint.on_epoch_end(1, {"loss": 0.6})
    assert read_state(run)["stopped_early"] is True


def test_each_commit_removes_the_previous_epoch_file(tmp_path):
    run, model, checkpoint = checkpointed(tmp_path)
    for epoch, loss in enumerate([0.5, 0.7, 0.6]):
        checkpoint.on_epoch_end(epoch, {"loss": loss})
    assert sorted(os.listdir(run.checkpoint_dir)) == ["best.keras", "epoch-0003.keras", "state.json"]


@pytest.mark.parametrize("free_mib, stops", [(150, True), (None, False)])
def test_free_space_needed_is_twice_the_last_epoch_file_with_a_margin(tmp_path, monkeypatch, free_mib, stops):
    import shutil
    from collections import namedtuple

    run, model, checkpoint = checkpointed(tmp_path)
    checkpoint.on_epoch_end(0, {"loss": 0.5})
    os.truncate(os.path.join(run.checkpoint_dir, "epoch-0001.keras"), 100 * 2**20)  # sparse: no disk used
    needed = int(2 * 100 * 2**20 * 1.1)
    free = needed if free_mib is None else free_mib * 2**20  # exactly enough, or too little
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - free, free))
    checkpoint.on_epoch_end(1, {"loss": 0.4})
    assert model.stop_training is stops
    if stops:
        assert checkpoint.failure == (f"saving epoch 2 into the run directory failed (only 150.0 MiB free at "
                                      f"{run.checkpoint_dir}; the checkpoints of an epoch need about 220.0 MiB)")
    else:
        assert read_state(run)["epoch"] == 2


def test_an_empty_metrics_file_gets_its_header(tmp_path):
    run, model = run_directory(tmp_path), tiny_model()
    open(run.metrics_file, "w").close()
    checkpoint = RunCheckpoint(run, monitor="loss")
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"loss": 0.5})
    with open(run.metrics_file) as stream:
        assert stream.read() == "epoch,loss\n0,0.5\n"


def test_a_metric_missing_from_a_later_epoch_leaves_its_cell_empty(tmp_path):
    # The columns are those of the first epoch; a metric computed every few epochs (FID) is blank in the others.
    run, model, checkpoint = checkpointed(tmp_path)
    checkpoint.on_epoch_end(0, {"loss": 0.5, "fid": 12.0})
    checkpoint.on_epoch_end(1, {"loss": 0.25})
    with open(run.metrics_file) as stream:
        assert stream.read() == "epoch,fid,loss\n0,12.0,0.5\n1,,0.25\n"
