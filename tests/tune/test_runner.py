"""`kspec tune`: trials are kspec runs, the budget holds across workers, kill -9 resumes, bad input is one line."""

import csv
import os
import re
import signal
import subprocess
import sys
import time

import optuna
import pytest
import yaml
from support import run_cli


def load_study(out, name="spec"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{out}/study.db")


def counted(study):
    return [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]


def metrics_rows(run):
    with open(os.path.join(run, "metrics.csv"), newline="") as stream:
        return list(csv.DictReader(stream))


def tune_command(spec, out, *extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-m", "kspec.cli", "tune", spec, "--out", str(out), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_trials_are_run_directories_and_the_report_names_the_best(write_spec, tuning_spec, tmp_path):
    spec = write_spec(tuning_spec)
    out = tmp_path / "study"
    result = run_cli("tune", spec, "--out", out)
    assert result.exit_code == 0, result.output
    study = load_study(out)
    trials = counted(study)
    assert [t.number for t in trials] == [0, 1, 2]
    for trial in trials:
        run = out / f"trial-{trial.number:04d}"
        assert trial.user_attrs["run"] == str(run)
        resolved = yaml.safe_load((run / "spec.yaml").read_text())
        # The trial's values are in its resolved spec, and its objective is the run's own metric.
        assert resolved["params"]["units"] == trial.params["params.units"]
        assert resolved["models"]["net"]["layers"][1]["dense"]["activation"] == trial.params[
            "models.net.layers[hidden].dense.activation"]
        assert trial.value == float(metrics_rows(run)[-1]["val_accuracy"])
    best = max(trials, key=lambda t: t.value)
    lines = result.stdout.splitlines()
    assert lines[0] == ("study `spec`: 0 of 3 trials done; val_accuracy to maximize, random sampler, none pruner; "
                        f"trial runs in {os.path.relpath(out)}/")
    header = lines.index("trial  state     val_accuracy  units  activation  epochs  seconds  run")
    assert [line.split()[:2] for line in lines[header + 1:header + 4]] == [[str(n), "complete"] for n in range(3)]
    assert f"best: trial {best.number}, val_accuracy {best.value:.4g}; spec {out / 'best.yaml'}" in result.stdout
    # best.yaml is the best run's spec without `search:`; kspec validates (and so trains) it as is.
    best_spec = yaml.safe_load((out / "best.yaml").read_text())
    assert "search" not in best_spec and best_spec["params"]["units"] == best.params["params.units"]
    assert run_cli("validate", out / "best.yaml").exit_code == 0
    assert (out / "objective.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out / "trials.csv", newline="") as stream:
        assert [row["state"] for row in csv.DictReader(stream)] == ["complete"] * 3

    # Run again: the budget is done, nothing trains, and the same table comes back.
    again = run_cli("tune", spec, "--out", out)
    assert again.exit_code == 0 and "3 of 3 trials done" in again.stdout
    assert len(load_study(out).trials) == 3


def test_a_study_from_a_different_spec_is_refused_with_both_hashes(write_spec, tuning_spec, tmp_path):
    spec = write_spec(tuning_spec)
    out = tmp_path / "study"
    from kspec import builder
    from kspec.builder.search import read_search
    from kspec.tune.runner import study_spec_hash
    from kspec.tune.study import open_storage, open_study, storage_url

    os.makedirs(out)
    document = builder.load_spec(spec).document
    old_hash = study_spec_hash(document)
    open_study(open_storage(storage_url(None, str(out))), "spec", read_search(document), old_hash, spec, 1)
    result = run_cli("tune", spec, "--out", out, "--set", "params.units=16")
    new_hash = study_spec_hash(builder.load_spec(spec, ["params.units=16"]).document)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"--out: study `spec` in sqlite:///{out}/study.db was created from a different spec ({spec}, spec hash "
        f"{old_hash[:16]}); {spec} hashes to {new_hash[:16]}. Tune it in another directory (--out) or under "
        "another --study name")
    # Raising the budget is not a different spec.
    assert study_spec_hash(builder.load_spec(spec, ["search.trials=30"]).document) == old_hash


def test_an_objective_no_run_reports_stops_after_the_first_trial(write_spec, tmp_path):
    # A VAE logs its own losses; which ones is known only once a run has logged them.
    spec = write_spec("""\
kspec: 1
models:
  encoder:
    inputs: {image: [8, 8, 1]}
    layers:
      - flatten:
      - {name: h, dense: {units: 8, activation: relu}}
      - {name: z_mean, dense: {units: 2}, from: h}
      - {name: z_log_var, dense: {units: 2}, from: h}
      - {name: z, sampling:, from: [z_mean, z_log_var]}
    outputs: [z_mean, z_log_var, z]
  decoder:
    inputs: {z: [2]}
    layers:
      - dense: {units: 64, activation: sigmoid}
      - {name: image, reshape: {target_shape: [8, 8, 1]}}
data: {source: digits, args: {limit: 100, target: none}}
training:
  trainer: vae
  batch_size: 50
  epochs: 1
search:
  objective: reconstruction_los
  trials: 2
  space:
    training.trainer.vae.beta: {float: [0.5, 2.0]}
""")
    out = tmp_path / "study"
    result = run_cli("tune", spec, "--out", out, "--set", "training.trainer={vae: {beta: 1.0}}")
    assert result.exit_code == 1, result.output
    message = result.stderr.strip()
    assert re.fullmatch(r"search\.objective: trial 0's run logs (.+) but not `reconstruction_los` \(did you mean "
                        r"'reconstruction_loss'\?\); see .*trial-0000/metrics\.csv", message), message
    assert [t.state for t in load_study(out).trials] == [optuna.trial.TrialState.FAIL]


@pytest.mark.slow
def test_two_workers_share_one_sqlite_study_and_run_no_trial_twice(write_spec, tuning_spec, tmp_path):
    spec = write_spec(tuning_spec.replace("trials: 3", "trials: 4"))
    out = tmp_path / "study"
    workers = [tune_command(spec, out) for _ in range(2)]
    outputs = [worker.communicate(timeout=400) for worker in workers]
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr
    study = load_study(out)
    trials = counted(study)
    assert len(trials) == 4, [(t.number, t.state) for t in study.trials]
    # Each trial ran once: one worker, one run directory with one epoch; no directory for anything else.
    assert sorted(os.listdir(out)) == sorted(
        ["study.db", "best.yaml", "objective.png", "trials.csv"] + [f"trial-{t.number:04d}" for t in trials])
    for trial in trials:
        assert [row["epoch"] for row in metrics_rows(trial.user_attrs["run"])] == ["0"]
    ran = [line for stdout, _ in outputs for line in stdout.splitlines() if re.match(r"trial +\d+ ", line)]
    assert sorted(int(line.split()[1]) for line in ran) == [t.number for t in trials]
    # Anything a worker asked for after the budget filled was closed unrun.
    assert all(t.user_attrs.get("kspec_surplus") for t in study.trials if t not in trials)


@pytest.mark.slow
def test_kill_9_mid_trial_then_resume_retries_it_once_and_keeps_the_budget(write_spec, tuning_spec, tmp_path):
    # Trials of 3 epochs, so that one can be caught between its first and last epoch.
    spec = write_spec(tuning_spec.replace("epochs: 1", "epochs: 3").replace("limit: 200", "limit: 400"))
    out = tmp_path / "study"
    worker = tune_command(spec, out)
    second = out / "trial-0001" / "checkpoints" / "state.json"
    deadline = time.time() + 300
    while not second.exists() and worker.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert worker.poll() is None, worker.communicate()[1]
    worker.send_signal(signal.SIGKILL)
    worker.communicate()
    interrupted = load_study(out).trials[1]
    assert interrupted.state == optuna.trial.TrialState.RUNNING

    result = run_cli("tune", spec, "--out", out)
    assert result.exit_code == 0, result.output
    assert "trial 1 was interrupted (its worker is gone): failed, and queued to run again" in result.stdout
    study = load_study(out)
    states = {t.number: t.state.name for t in study.trials}
    assert states == {0: "COMPLETE", 1: "FAIL", 2: "COMPLETE", 3: "COMPLETE"}
    retry = study.trials[2]
    assert retry.system_attrs["retry_history"] == [1] and retry.params == interrupted.params
    assert len(counted(study)) == 3
    for number in (0, 2, 3):
        assert len(metrics_rows(out / f"trial-{number:04d}")) == 3
    assert re.search(r"^1 +fail \(retried as 2\)", result.stdout, re.MULTILINE), result.stdout


def test_a_spec_without_search_is_refused(tmp_path):
    from support import SPECS_DIR

    result = run_cli("tune", os.path.join(SPECS_DIR, "vae.yaml"), "--out", tmp_path / "study")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("search: the spec has no `search:` section naming what to tune; see `kspec init "
                                     "classifier` for an example")
    assert not (tmp_path / "study").exists()


def test_grid_values_enumerate_each_dimension():
    from kspec.builder.search import Dimension, Search
    from kspec.tune.runner import grid_values

    search = Search("val_loss", "minimize", "grid", "none", 100, 0, (
        Dimension("params.units", "int", 16, 64, 16), Dimension("params.depth", "int", 1, 3),
        Dimension("params.rate", "float", 0.1, 0.3, 0.1), Dimension("params.act", "choice", choices=("relu", "gelu"))))
    grid = grid_values(search)
    assert grid["params.units"] == [16, 32, 48, 64] and grid["params.depth"] == [1, 2, 3]
    assert grid["params.rate"] == pytest.approx([0.1, 0.2, 0.3]) and grid["params.act"] == ["relu", "gelu"]


@pytest.mark.parametrize("name, cls", [("median", "MedianPruner"), ("hyperband", "HyperbandPruner"),
                                       ("none", "NopPruner")])
def test_pruners_by_name(name, cls):
    from kspec.builder.search import Search
    from kspec.tune.study import make_pruner

    assert type(make_pruner(Search("val_loss", "minimize", "tpe", name, 10, 0), epochs=5)).__name__ == cls


def test_the_objective_is_the_best_epoch_and_a_missing_one_is_named(tmp_path):
    from kspec.errors import SpecError
    from kspec.tune.runner import objective_value

    (tmp_path / "metrics.csv").write_text("epoch,fd_digits,loss\n0,30.0,1.0\n1,,0.8\n2,20.0,0.9\n")
    assert objective_value(tmp_path, "loss", "minimize", 0) == (0.8, 3)
    assert objective_value(tmp_path, "fd_digits", "maximize", 0) == (30.0, 3)  # epochs that did not score it skipped
    with pytest.raises(SpecError) as missing:
        objective_value(tmp_path, "fd_digit", "minimize", 4)
    assert str(missing.value) == (f"search.objective: trial 4's run logs fd_digits, loss but not `fd_digit` (did you "
                                  f"mean 'fd_digits'?); see {os.path.relpath(tmp_path / 'metrics.csv')}")
    (tmp_path / "metrics.csv").write_text("epoch,fd_digits,loss\n0,,1.0\n")
    with pytest.raises(SpecError) as never:
        objective_value(tmp_path, "fd_digits", "minimize", 0)
    assert str(never.value) == ("search.objective: trial 0's run never computed `fd_digits` in 1 epochs (a score "
                                "computed every few epochs?); see " + os.path.relpath(tmp_path / "metrics.csv"))
