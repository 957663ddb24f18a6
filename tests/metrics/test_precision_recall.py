import numpy as np
import pytest
from scipy.spatial.distance import cdist

from kspec.errors import SpecError
from kspec.metrics import precision_recall
from kspec.metrics.precision_recall import (
    manifold_scores,
    nearest_neighbor_radii,
    precision_recall_density_coverage,
)


def brute_force(real, generated, k):
    """The papers' definitions, written with loops over full distance matrices."""
    def radii(points):
        d = cdist(points, points)
        return np.array([sorted(np.delete(row, i))[k - 1] for i, row in enumerate(d)])

    real_radii, generated_radii, d = radii(real), radii(generated), cdist(real, generated)  # d[i, j]: real i, gen j
    n, m = len(real), len(generated)
    precision = sum(any(d[i, j] <= real_radii[i] for i in range(n)) for j in range(m)) / m
    recall = sum(any(d[i, j] <= generated_radii[j] for j in range(m)) for i in range(n)) / n
    density = sum(d[i, j] <= real_radii[i] for i in range(n) for j in range(m)) / (k * m)
    coverage = sum(min(d[i, j] for j in range(m)) <= real_radii[i] for i in range(n)) / n
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("block_rows", [None, 1, 7])
def test_matches_brute_force_on_small_sets(k, block_rows):
    rng = np.random.default_rng(k)
    real = rng.normal(size=(40, 5))
    generated = rng.normal(loc=0.5, scale=1.3, size=(33, 5))  # shifted and wider
    expected = brute_force(real, generated, k)
    assert 0 < expected["precision"] < 1 and 0 < expected["coverage"] < 1  # neither all nor nothing: a real test
    actual = precision_recall_density_coverage(real, generated, k=k, block_rows=block_rows)
    assert actual == pytest.approx(expected, abs=1e-12)


def test_identical_sets_have_full_precision_recall_coverage_and_density_k_plus_one_over_k():
    features = np.random.default_rng(0).normal(size=(200, 16)) * 100 + 1000  # large norms: rounding must not matter
    for k in (1, 3, 10):
        scores = precision_recall_density_coverage(features, features.copy(), k=k, block_rows=13)
        assert scores == {"precision": 1.0, "recall": 1.0, "density": pytest.approx((k + 1) / k), "coverage": 1.0}


def test_disjoint_sets_score_zero():
    rng = np.random.default_rng(0)
    real, generated = rng.normal(size=(50, 3)), rng.normal(size=(60, 3)) + 100.0
    assert precision_recall_density_coverage(real, generated) == {
        "precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_a_mode_dropped_by_the_generator_lowers_recall_and_coverage_not_precision():
    rng = np.random.default_rng(0)
    modes = np.array([[0.0, 0.0], [10.0, 0.0]])
    real = np.concatenate([rng.normal(size=(100, 2)) * 0.5 + mode for mode in modes])
    generated = rng.normal(size=(200, 2)) * 0.5 + modes[0]  # one mode only
    scores = precision_recall_density_coverage(real, generated)
    assert scores["precision"] > 0.9 and scores["recall"] < 0.6 and scores["coverage"] < 0.6


def test_only_the_metrics_asked_for_are_returned_in_order():
    rng = np.random.default_rng(0)
    real, generated = rng.normal(size=(30, 2)), rng.normal(size=(3, 2))  # 3 generated: too few for recall's radii
    assert list(precision_recall_density_coverage(real, generated, metrics=("coverage", "precision"))) == [
        "coverage", "precision"]


def test_radii_are_the_distance_to_the_kth_other_point():
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert nearest_neighbor_radii(points, k=2).tolist() == [3.0, 2.0, 3.0, 6.0]


def test_blocks_hold_at_most_the_block_budget(monkeypatch):
    monkeypatch.setattr(precision_recall, "_BLOCK_ELEMENTS", 100)
    rows, columns = np.zeros((55, 2)), np.zeros((30, 2))
    shapes = [squared.shape for _, squared, _ in precision_recall._Distances(rows, columns).blocks()]
    assert shapes == [(3, 30)] * 18 + [(1, 30)]


def test_scores_carry_their_counts_and_names():
    rng = np.random.default_rng(0)
    scores = manifold_scores(rng.normal(size=(20, 2)), rng.normal(size=(10, 2)), metrics=("precision",),
                             names={"precision": "precision_toy"})
    assert list(scores) == ["precision_toy"]
    assert (scores["precision_toy"].n, scores["precision_toy"].n_reference) == (10, 20)


@pytest.mark.parametrize(
    "arguments,message",
    [
        ({"k": 0}, "`k` must be a positive integer. Received: k=0"),
        ({"k": 30}, "k-NN radii with k=30 need more than 30 samples in `real_features`. Received: 20"),
        ({"metrics": ("precison",)}, "unknown metric(s) 'precison'; expected any of precision, recall, density, coverage"),
        ({"generated_features": np.zeros((5, 3))},
         "feature sets must have the same dimension. Received: 2 (real) and 3 (generated)"),
        ({"real_features": np.full((20, 2), np.nan)}, "`real_features` contains NaN or infinite values"),
    ],
)
def test_bad_arguments_are_one_line_errors(arguments, message):
    rng = np.random.default_rng(0)
    call = {"real_features": rng.normal(size=(20, 2)), "generated_features": rng.normal(size=(25, 2)), **arguments}
    with pytest.raises(SpecError) as error:
        precision_recall_density_coverage(**call)
    assert str(error.value) == message
