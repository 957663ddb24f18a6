"""Generative metrics of runs: metric callbacks from the spec, `kspec evaluate` and `kspec stats`."""

import csv
import json
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
                 "metrics: [fid, inception_score, precision], every: 1, samples: 64}")
    assert result.exit_code == 0, result.output
    with open(run / "metrics.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2
    for row in rows:
        assert float(row["fd_digits"]) > 0
        assert 1.0 <= float(row["is_digits"]) <= 10.0
        assert 0.0 <= float(row["precision_digits"]) <= 1.0
    # Real-data statistics are computed once and cached on disk.
    assert [f for f in os.listdir(tmp_path / "cache") if f.endswith("-statistics.npz")]
    # The side file holds each CSV score with its protocol, under the CSV's column name.
    records = json.loads((run / "scores.json").read_text())["scores"]
    assert [(r["epoch"], r["name"]) for r in records] == [
        (epoch, name) for epoch in (0, 1) for name in ("fd_digits", "is_digits", "precision_digits")]
    assert [r["value"] for r in records if r["name"] == "fd_digits"] == [float(row["fd_digits"]) for row in rows]
    protocol = records[0]["protocol"]
    record = json.loads((run / "run.json").read_text())
    assert (protocol["extractor"], protocol["extractor_layer"], protocol["n_generated"], protocol["n_reference"],
            protocol["spec_sha256"]) == ("digits", "dense", 64, 1438, record["spec_hash"])
    assert len(protocol["extractor_weights_sha256"]) == 64 and len(protocol["reference_sha256"]) == 64


def test_metric_callbacks_of_one_epoch_share_one_extractor_pass(tmp_path):
    import keras

    import kspec.metrics  # noqa: F401
    from kspec.metrics.extractors import KerasExtractor
    from kspec.registry import METRICS
    from kspec.training.evaluation import _SharedPass

    inputs = keras.Input((6, 6, 1))
    hidden = keras.layers.Dense(4, name="embedding")(keras.layers.Flatten()(inputs))
    extractor = KerasExtractor(keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden)), "embedding",
                               name="toy")
    passes = []
    extract = extractor.extract
    extractor.extract = lambda images: passes.append(len(images)) or extract(images)
    draws = []

    def sample(n, seed):
        draws.append(n)
        return np.random.default_rng(seed).uniform(size=(n, 6, 6, 1)).astype("float32")

    shared = _SharedPass(extractor, sample)
    real = np.random.default_rng(9).uniform(size=(30, 6, 6, 1)).astype("float32")
    common = {"sample_fn": shared.sample_fn, "extractor": shared, "num_samples": 20, "cache_dir": tmp_path}
    callbacks = [METRICS.get("fid")(real_data=real, **common), METRICS.get("kid")(real_data=real, subset_size=10, **common),
                 METRICS.get("precision")(real_data=real, **common), METRICS.get("coverage")(real_data=real, **common)]
    common.pop("cache_dir")
    callbacks.append(METRICS.get("inception_score")(splits=2, **common))
    reset = shared.reset_callback()
    for epoch in range(2):
        reset.on_epoch_begin(epoch)
        logs = {}
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        assert sorted(logs) == ["coverage_toy", "fd_toy", "is_toy", "kid_toy", "precision_toy"]
    assert passes == [20, 20] and draws == [20, 20]  # one draw and one extractor pass per scored epoch


def test_evaluate_and_stats_commands(tmp_path, classifier_run, trained_run, monkeypatch):
    monkeypatch.setenv("KSPEC_CACHE_DIR", str(tmp_path / "cache"))
    run = trained_run("dcgan")
    extractor = ["--extractor-run", classifier_run, "--layer", "dense", "--name", "digits"]
    result = run_cli("evaluate", run, "--metrics", "fid,is,kid", "--samples", 100, *extractor)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split(" = ")[0] for line in lines[:3]] == ["fd_digits", "is_digits", "kid_digits"]
    assert "(N = 100, reference N = 1438)" in lines[0]
    assert lines[2].endswith("[subset_size 1000, subsets 100]")
    assert lines[3].startswith("protocol of fd_digits, kid_digits: extractor digits (layer dense, weights ")
    assert ", resize none to 28x28, reference " in lines[3]
    assert lines[4].startswith("protocol of is_digits: ") and ", reference none, spec " in lines[4]

    # Held-out digits, the k-NN metrics, and the scores written with their protocols.
    held_out = tmp_path / "held_out.json"
    result = run_cli("evaluate", run, "--metrics", "precision,recall,density,coverage", "--samples", 100,
                     "--reference", "validation", "-o", held_out, *extractor)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split(" = ")[0] for line in lines[:4]] == [
        "precision_digits", "recall_digits", "density_digits", "coverage_digits"]
    assert lines[0].endswith("(N = 100, reference N = 359) [k 3]")
    assert lines[-1] == f"wrote {held_out}"
    records = json.loads(held_out.read_text())["scores"]
    assert [r["protocol"]["n_reference"] for r in records] == [359] * 4 and records[0]["checkpoint"] == "last"

    # Comparable with a second evaluation under the same protocol; refused when the sample count differs.
    again, fewer = tmp_path / "again.json", tmp_path / "fewer.json"
    for path, count in ((again, 100), (fewer, 50)):
        result = run_cli("evaluate", run, "--metrics", "precision", "--samples", count, "--seed", 1,
                         "--reference", "validation", "-o", path, *extractor)
        assert result.exit_code == 0, result.output
    result = run_cli("evaluate", "--compare", held_out, again)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].split()[0] == "precision_digits"
    result = run_cli("evaluate", "--compare", held_out, fewer)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{fewer}: `precision_digits` is not comparable: the protocols differ in `n_generated` 100 vs 50")

    output = tmp_path / "digits.npz"
    result = run_cli("stats", os.path.join(SPECS_DIR, "dcgan.yaml"), "-o", output, *extractor)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {output} (N=1438, d=128)"
    saved = np.load(output)
    assert saved["mu"].shape == (128,) and saved["sigma"].shape == (128, 128) and int(saved["N"]) == 1438


def test_evaluate_with_unknown_metric_or_without_inception_weights_is_one_line(tmp_path, classifier_run):
    result = run_cli("evaluate", classifier_run, "--metrics", "fid,precison")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "--metrics: expected any of fid, is, kid, precision, recall, density, coverage. Received: 'precison'")
    result = run_cli("stats", os.path.join(SPECS_DIR, "vae.yaml"), "-o", tmp_path / "s.npz",
                     "--inception-weights", tmp_path / "missing.h5")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "kspec never downloads them" in result.stderr


def test_the_training_modules_import_each_other_without_cycles():
    import ast

    from support import REPO

    directory = os.path.join(REPO, "training")
    graph = {}
    for file in sorted(os.listdir(directory)):
        if file.endswith(".py"):
            tree = ast.parse(open(os.path.join(directory, file), encoding="utf-8").read())
            imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
            graph[f"kspec.training.{file[:-3]}"] = {m for m in imported if m.startswith("kspec.training.")}

    def cycle_from(module, path):
        if module in path:
            return path[path.index(module):] + [module]
        for imported in sorted(graph.get(module, ())):
            found = cycle_from(imported, path + [module])
            if found:
                return found
        return None

    assert [cycle_from(module, []) for module in graph if cycle_from(module, [])] == []
