"""Generative metrics of runs: FID/IS/KID callbacks from the spec, `kspec evaluate` and `kspec stats`."""

import csv
import os

import numpy as np
import pytest
from support import SPECS_DIR, run_cli


@pytest.fixture(scope="module")
def classifier_run(trained_run):
    return trained_run("cnn_classifier")


def test_spec_evaluation_writes_labelled_scores_into_metrics_csv(tmp_path, classifier_run, monkeypatch):
    monkeypatch.setenv("KSPEC_CACHE_DIR", str(tmp_path / "cache"))
    run = tmp_path / "vae"
    result = run_cli(
        "train", os.path.join(SPECS_DIR, "vae.yaml"), "--out", run,
        "--set", "training.epochs=2", "--set", "training.steps_per_epoch=2", "--set", "training.samples.every=5",
        "--set", f"training.evaluation={{extractor: {{run: {classifier_run}, layer: dense, name: digits}}, "
                 "metrics: [fid, inception_score], every: 1, samples: 64}")
    assert result.exit_code == 0, result.output
    with open(run / "metrics.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2
    for row in rows:
        assert float(row["fd_digits"]) > 0
        assert 1.0 <= float(row["is_digits"]) <= 10.0
    # Real-data statistics are computed once and cached on disk.
    assert [f for f in os.listdir(tmp_path / "cache") if f.endswith("-statistics.npz")]


def test_evaluate_and_stats_commands(tmp_path, classifier_run, trained_run, monkeypatch):
    monkeypatch.setenv("KSPEC_CACHE_DIR", str(tmp_path / "cache"))
    run = trained_run("dcgan")
    extractor = ["--extractor-run", classifier_run, "--layer", "dense", "--name", "digits"]
    result = run_cli("evaluate", run, "--metrics", "fid,is,kid", "--samples", 100, *extractor)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split(" = ")[0] for line in lines] == ["fd_digits", "is_digits", "kid_digits"]
    assert "(N = 100, reference N = 1438)" in lines[0]

    output = tmp_path / "digits.npz"
    result = run_cli("stats", os.path.join(SPECS_DIR, "dcgan.yaml"), "-o", output, *extractor)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {output} (N=1438, d=128)"
    saved = np.load(output)
    assert saved["mu"].shape == (128,) and saved["sigma"].shape == (128, 128) and int(saved["N"]) == 1438


def test_evaluate_with_unknown_metric_or_without_inception_weights_is_one_line(tmp_path, classifier_run):
    result = run_cli("evaluate", classifier_run, "--metrics", "fid,precision")
    assert result.exit_code == 1
    assert result.stderr.strip() == "--metrics: expected any of fid, is, kid. Received: 'precision'"
    result = run_cli("stats", os.path.join(SPECS_DIR, "vae.yaml"), "-o", tmp_path / "s.npz",
                     "--inception-weights", tmp_path / "missing.h5")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "kspec never downloads them" in result.stderr
