"""Run directories: one trainer at a time (an OS lock), no second run in a directory, stale locks never block."""

import csv
import os
import subprocess
import sys
import time

import pytest
from support import SPECS_DIR, run_cli

from kspec.errors import SpecError
from kspec.training.run_directory import RunDirectory

CNN = os.path.join(SPECS_DIR, "cnn_classifier.yaml")
# An 8x8 CNN on 60 digits: two steps per epoch.
TINY = ["--set", "params.image_size=8", "--set", "data.args.size=8", "--set", "data.args.limit=60"]


def wait_for(condition, process, seconds=180):
    """Polls `condition()` until it holds; fails if `process` ends first or the deadline passes."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, f"the trainer ended (status {process.returncode}) before the condition held"
        assert time.monotonic() < deadline, "timed out waiting for the trainer"
        time.sleep(0.02)


def metrics_epochs(run):
    with open(run / "metrics.csv", newline="") as stream:
        return [int(row["epoch"]) for row in csv.DictReader(stream)]


def test_a_second_trainer_and_a_resume_of_a_live_run_are_refused_while_the_first_finishes(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "kspec.cli", "train", CNN, "--out", str(run), *TINY, "--set", "training.epochs=8"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # The trainer writes its pid into run.lock once it holds the lock, then spec.yaml.
        wait_for(lambda: (run / "spec.yaml").exists() and (run / "run.lock").read_text().strip() == str(first.pid),
                 first)
        second = run_cli("train", CNN, "--out", run, *TINY, "--set", "training.epochs=8")
        resumed = run_cli("train", "--resume", run)
        still_running = first.poll() is None
    finally:
        _, errors = first.communicate(timeout=300)
    assert still_running, "the first trainer finished before the others were refused; the test proved nothing"
    assert second.exit_code == 1 and second.stderr.strip() == (
        f"--out: {run} is being trained by another kspec process (pid {first.pid}); choose another --out, or wait for "
        "that run to end and resume it with --resume")
    assert resumed.exit_code == 1 and resumed.stderr.strip() == (
        f"--resume: {run} is being trained by another kspec process (pid {first.pid}); wait for it to end (or stop "
        "it) before resuming")
    assert first.returncode == 0, errors
    assert metrics_epochs(run) == list(range(8))


def test_a_lock_file_left_by_a_dead_process_does_not_block(tmp_path):
    (tmp_path / "run.lock").write_text("4194303\n")  # its process is gone, and the OS lock with it
    run = RunDirectory(tmp_path)
    run.acquire("--resume")
    try:
        assert (tmp_path / "run.lock").read_text() == f"{os.getpid()}\n"
    finally:
        run.release()


@pytest.mark.parametrize("present", [["spec.yaml"], ["spec.yaml", "metrics.csv"]])
def test_a_directory_holding_a_run_without_a_committed_epoch_is_refused(tmp_path, present):
    run = tmp_path / "run"
    run.mkdir()
    for name in present:
        (run / name).write_text("from another run\n")
    result = run_cli("train", CNN, "--out", run, *TINY, "--set", "training.epochs=1")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"--out: {run} already holds a run ({', '.join(present)}); resume it with "
                                     f"--resume {run} or choose another --out")
    assert all((run / name).read_text() == "from another run\n" for name in present)
    assert sorted(os.listdir(run)) == sorted([*present, "run.lock"])


def test_the_lock_is_released_when_training_ends_or_fails(tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", CNN, "--out", run, *TINY, "--set", "training.epochs=1").exit_code == 0
    failed = run_cli("train", "--resume", run, "--set", "training.epochs=2")
    assert failed.exit_code == 1
    probe = RunDirectory(run)
    probe.acquire("--resume")  # would raise if an earlier call had kept the lock
    try:
        with pytest.raises(SpecError, match="is being trained by another kspec process"):
            RunDirectory(run).acquire("--resume")  # a second open file of the same lock is refused, in-process too
    finally:
        probe.release()


def test_stale_temporaries_are_removed_only_under_the_lock(tmp_path):
    run = RunDirectory(tmp_path)
    with pytest.raises(RuntimeError, match="needs the run's lock"):
        run.remove_stale_temporaries()
    (tmp_path / "checkpoints").mkdir(), (tmp_path / "samples").mkdir()
    stale = [tmp_path / ".tmp-a1", tmp_path / "checkpoints" / ".tmp-b2", tmp_path / "samples" / ".probe-c3"]
    kept = [tmp_path / "tmp-not-ours", tmp_path / "checkpoints" / "best.keras", tmp_path / "logs" / ".tmp-elsewhere"]
    (tmp_path / "logs").mkdir()
    for path in stale + kept:
        path.write_text("x")
    (tmp_path / ".tmp-dir").mkdir()  # only files go
    os.symlink(kept[1], tmp_path / ".tmp-link")  # a link is not followed or removed
    run.acquire("--resume")
    try:
        assert sorted(run.remove_stale_temporaries()) == sorted(map(str, stale))
    finally:
        run.release()
    assert not any(path.exists() for path in stale) and all(path.exists() for path in kept)
    assert (tmp_path / ".tmp-dir").is_dir() and (tmp_path / ".tmp-link").is_symlink()


# In-process checks of the directory's records and refusals (the tests above run real trainers).

def tiny_spec(tmp_path, text="kspec: 1\nmodels: {}\n"):
    import types

    from kspec.builder.loader import load_document

    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    return types.SimpleNamespace(file=str(path), document=load_document(str(path)))


def test_spec_hash_is_the_same_for_the_same_meaning_and_differs_otherwise():
    from kspec.training.run_directory import spec_hash

    assert spec_hash({"a": 1, "b": [1, 2]}) == spec_hash({"b": [1, 2], "a": 1})
    assert spec_hash({"a": 1}) != spec_hash({"a": 2})
    import hashlib

    assert spec_hash({"b": 1, "a": "x"}) == hashlib.sha256(b'{"a":"x","b":1}').hexdigest()  # compact, sorted JSON


def test_write_atomic_writes_utf8_text_and_leaves_no_temporary(tmp_path):
    from kspec.training.run_directory import write_atomic

    target = tmp_path / "run.json"
    target.write_text("old")
    write_atomic(target, "grüße\n")
    assert target.read_bytes() == "grüße\n".encode() and os.listdir(tmp_path) == ["run.json"]


def test_a_new_run_records_its_spec_versions_command_and_git_state(tmp_path, monkeypatch):
    import datetime
    import json

    from kspec.training.run_directory import spec_hash

    import keras

    import kspec

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    spec = tiny_spec(tmp_path)
    for args in (["add", spec.file], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "spec"]):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True)
    commit = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    monkeypatch.setattr(sys, "argv", ["kspec", "train", "tiny.yaml"])
    run = RunDirectory(tmp_path / "run")
    assert run.create(spec) is run and run.locked
    try:
        text = (tmp_path / "run" / "run.json").read_text()
        record = json.loads(text)
        assert text.startswith('{\n  "spec": ') and text.endswith("}\n")  # two-space indent, one key a line
        assert record["spec"] == spec.file and record["command"] == ["kspec", "train", "tiny.yaml"]
        assert record["spec_hash"] == spec_hash(spec.document)
        created = datetime.datetime.fromisoformat(record["created"])
        assert created.utcoffset() == datetime.timedelta(0) and created.microsecond == 0
        assert record["git"] == {"commit": commit, "modified": False}
        assert {k: record["versions"][k] for k in ("kspec", "keras")} == {"kspec": kspec.__version__,
                                                                       "keras": keras.__version__}
        assert set(record["versions"]) == {"python", "keras", "kspec", "tensorflow"}
        assert (tmp_path / "run" / "spec.yaml").read_text() == (
            "# Resolved spec of this run: extends merged, overrides applied.\nkspec: 1\nmodels: {}\n")
        assert os.path.isdir(tmp_path / "run" / "checkpoints") and not glob_temporaries(tmp_path / "run")
        assert run.record() == record
    finally:
        run.release()
    with open(spec.file, "a") as stream:
        stream.write("# changed\n")
    other = RunDirectory(tmp_path / "other").create(spec)
    other.release()
    assert json.loads((tmp_path / "other" / "run.json").read_text())["git"] == {"commit": commit, "modified": True}


def glob_temporaries(path):
    import glob

    from kspec.training.run_directory import TEMPORARY_PATTERNS

    return [found for pattern in TEMPORARY_PATTERNS for found in glob.glob(os.path.join(path, pattern))]


def test_a_spec_outside_git_records_no_git_state(tmp_path):
    import json

    run = RunDirectory(tmp_path / "run").create(tiny_spec(tmp_path))
    run.release()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["git"] is None


def test_a_new_run_without_out_is_named_after_its_spec_and_the_utc_time(tmp_path, monkeypatch):
    import re

    monkeypatch.chdir(tmp_path)
    run = RunDirectory.reserve(tiny_spec(tmp_path))
    assert re.fullmatch(r"runs/tiny-\d{8}-\d{6}", run.given) and run.path == str(tmp_path / run.given)
    assert not os.path.exists(run.path) and not run.locked  # made by create, after the data checks


def test_reserving_an_existing_directory_locks_it_and_refuses_one_holding_a_run(tmp_path):
    assert not RunDirectory.reserve(tiny_spec(tmp_path), tmp_path / "empty").locked  # none yet: nothing to lock
    (tmp_path / "empty").mkdir()  # an existing empty directory is fine, and locked at once
    empty = RunDirectory.reserve(tiny_spec(tmp_path), tmp_path / "empty")
    assert empty.locked
    empty.release()
    (tmp_path / "held" / "checkpoints").mkdir(parents=True)
    (tmp_path / "held" / "checkpoints" / "state.json").write_text("{}")
    with pytest.raises(SpecError) as error:
        RunDirectory.reserve(tiny_spec(tmp_path), str(tmp_path / "held"))
    assert str(error.value) == (f"--out: {tmp_path / 'held'} already holds a run (checkpoints/state.json); resume it "
                                f"with --resume {tmp_path / 'held'} or choose another --out")


def test_a_run_needing_more_space_than_is_free_is_refused_before_anything_is_made(tmp_path, monkeypatch):
    import shutil
    import types

    measured = []

    def usage(path):
        measured.append(path)
        return types.SimpleNamespace(free=5 * 2**20)

    monkeypatch.setattr(shutil, "disk_usage", usage)
    with pytest.raises(SpecError) as error:
        RunDirectory(tmp_path / "a" / "b").create(tiny_spec(tmp_path), required_bytes=12 * 2**20)
    assert str(error.value) == f"--out: only 5 MiB free at {tmp_path / 'a' / 'b'}; checkpoints need about 12 MiB"
    assert measured == [str(tmp_path)] and sorted(os.listdir(tmp_path)) == ["tiny.yaml"]  # the nearest existing one
    RunDirectory(tmp_path / "a").create(tiny_spec(tmp_path), required_bytes=5 * 2**20).release()  # exactly enough


def test_reading_a_run_that_is_not_one_or_whose_record_is_damaged_says_so(tmp_path):
    with pytest.raises(SpecError) as error:
        RunDirectory.open(tmp_path)
    assert str(error.value) == f"RUN_DIR: {tmp_path} is not a kspec run directory (no spec.yaml)"
    (tmp_path / "spec.yaml").write_text("kspec: 1\n")
    run = RunDirectory.open(tmp_path)
    with pytest.raises(SpecError) as error:
        run.record()
    assert str(error.value) == (f"RUN_DIR: cannot read {tmp_path / 'run.json'} (No such file or directory); it is "
                                "written once when the run starts: copy it from a backup of the run")
    (tmp_path / "run.json").write_text("[1, 2]")
    with pytest.raises(SpecError) as error:
        run.record()
    assert str(error.value) == f"RUN_DIR: {tmp_path / 'run.json'} is not a kspec run record (expected a JSON object)"


def test_resuming_takes_the_lock_and_clears_temporaries_and_a_second_holder_is_told_who_has_it(tmp_path):
    (tmp_path / "spec.yaml").write_text("kspec: 1\n")
    (tmp_path / ".tmp-left").write_text("x")
    run = RunDirectory.open_for_training(tmp_path)
    try:
        assert run.locked and not (tmp_path / ".tmp-left").exists()
        run.acquire("--resume")  # held already: nothing happens
        assert (tmp_path / "run.lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(SpecError) as error:
            RunDirectory(tmp_path).acquire("--out")
        assert str(error.value) == (f"--out: {tmp_path} is being trained by another kspec process (pid {os.getpid()}); "
                                    "choose another --out, or wait for that run to end and resume it with --resume")
        (tmp_path / "run.lock").write_text("")  # a holder that wrote no pid yet
        with pytest.raises(SpecError, match=r"by another kspec process; wait for it to end \(or stop it\)"):
            RunDirectory(tmp_path).acquire("--resume")
    finally:
        run.release()
    assert not run.locked
    run.release()  # harmless when not held


def failing(error_number):
    def fail(*args, **kwargs):
        raise OSError(error_number, os.strerror(error_number))

    return fail


def test_a_run_directory_that_cannot_be_written_is_one_line_naming_it(tmp_path, monkeypatch):
    import errno
    import tempfile

    spec = tiny_spec(tmp_path)
    target = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(os, "makedirs", failing(errno.EACCES))
        with pytest.raises(SpecError) as error:
            RunDirectory(target).create(spec)
    assert str(error.value) == f"--out: cannot write the run directory {target}: {os.strerror(errno.EACCES)}"
    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "NamedTemporaryFile", failing(errno.EROFS))
        with pytest.raises(SpecError) as error:
            RunDirectory(target).create(spec)
    assert str(error.value) == f"--out: cannot write the run directory {target}: {os.strerror(errno.EROFS)}"
    (tmp_path / "locked" / "run.lock").mkdir(parents=True)  # the lock file cannot be opened
    with pytest.raises(SpecError) as error:
        RunDirectory(tmp_path / "locked").acquire("--resume")
    assert str(error.value) == (f"--resume: cannot write the run directory {tmp_path / 'locked'}: "
                                f"{os.strerror(errno.EISDIR)}")


def test_a_file_system_without_locks_is_refused_naming_the_lock(tmp_path, monkeypatch):
    import errno
    import fcntl

    monkeypatch.setattr(fcntl, "flock", failing(errno.ENOLCK))
    with pytest.raises(SpecError) as error:
        RunDirectory(tmp_path).acquire("--out")
    assert str(error.value) == (f"--out: cannot lock {tmp_path / 'run.lock'}: {os.strerror(errno.ENOLCK)}; kspec needs "
                                "file locks to keep two trainers out of one run directory")


def test_creating_a_run_another_process_trains_into_names_out(tmp_path):
    holder = RunDirectory(tmp_path / "run")
    (tmp_path / "run").mkdir()
    holder.acquire("--resume")
    try:
        with pytest.raises(SpecError, match=r"^--out: .* is being trained by another kspec process \(pid \d+\); choose"):
            RunDirectory(tmp_path / "run").create(tiny_spec(tmp_path))
    finally:
        holder.release()


def test_the_write_probe_is_a_temporary_that_a_resume_would_clear(tmp_path, monkeypatch):
    import fnmatch
    import shutil
    import tempfile
    import types

    from kspec.training.run_directory import TEMPORARY_PATTERNS

    prefixes = []
    named = tempfile.NamedTemporaryFile
    monkeypatch.setattr(tempfile, "NamedTemporaryFile",
                        lambda **options: prefixes.append(options["prefix"]) or named(**options))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: types.SimpleNamespace(free=0))
    RunDirectory(tmp_path / "run").create(tiny_spec(tmp_path)).release()  # needing no space (the default), none free
    assert len(prefixes) == 1
    assert any(fnmatch.fnmatch(prefixes[0] + "x1y2", pattern) for pattern in TEMPORARY_PATTERNS)


def test_versions_record_no_tensorflow_as_none(monkeypatch):
    from kspec.training.run_directory import _versions

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` raises ImportError
    assert _versions()["tensorflow"] is None


def test_removing_temporaries_without_the_lock_says_why_not(tmp_path):
    with pytest.raises(RuntimeError) as error:
        RunDirectory(tmp_path).remove_stale_temporaries()
    assert str(error.value) == "remove_stale_temporaries needs the run's lock: another process may be writing"
