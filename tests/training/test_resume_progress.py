"""`kspec train --resume` of a run whose epochs are all done says so and leaves the run as it was."""

import json
import os
import shutil

from support import SPECS_DIR, run_cli


def snapshot(directory):
    return {os.path.join(root, name): os.stat(os.path.join(root, name)).st_mtime_ns
            for root, _, names in os.walk(directory) for name in names}


def make_run(tmp_path, epochs_done):
    """A run directory of cnn_classifier.yaml (15 epochs) as RunCheckpoint leaves it after `epochs_done`."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(os.path.join(SPECS_DIR, "cnn_classifier.yaml"), run / "spec.yaml")
    state = {"epoch": epochs_done, "checkpoint": f"epoch-{epochs_done:04d}.keras", "monitor": "val_accuracy",
             "best": 0.9}
    (run / "checkpoints" / "state.json").write_text(json.dumps(state))
    return run


def test_resuming_a_finished_run_says_it_is_complete_and_touches_nothing(tmp_path):
    run = make_run(tmp_path, 15)
    before = snapshot(run)
    result = run_cli("train", "--resume", run)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{run} is complete: 15 of 15 epochs trained; nothing to resume"
    assert snapshot(run) == before


def test_an_unfinished_run_is_not_called_complete(tmp_path):
    from kspec.training.train import resume_progress

    assert resume_progress(make_run(tmp_path, 3)) == (3, 15)
    (tmp_path / "run" / "checkpoints" / "state.json").unlink()
    assert resume_progress(tmp_path / "run") == (0, 15)
