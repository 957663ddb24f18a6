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
