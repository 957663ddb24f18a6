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


@pytest.fixture
def distances_made(monkeypatch):
    """`(rows, columns, block_rows)` of every distance matrix the metrics compute, by identity of the arrays."""
    made = []
    original = precision_recall._Distances

    class Recorded(original):
        def __init__(self, rows, columns, block_rows=None):
            made.append((rows.shape[0], columns.shape[0], block_rows))
            super().__init__(rows, columns, block_rows)

    monkeypatch.setattr(precision_recall, "_Distances", Recorded)
    return made


@pytest.mark.parametrize("metrics, pairs", [
    (("recall",), [(30, 30), (20, 30)]),  # generated-generated radii, real rows against generated balls
    (("precision",), [(20, 20), (30, 20)]),
    (("density",), [(20, 20), (30, 20)]),
    (("coverage",), [(20, 20), (20, 30)]),
    (("precision", "recall", "density", "coverage"), [(20, 20), (30, 20), (30, 30), (20, 30), (20, 30)]),
])
def test_only_the_distances_a_metric_needs_are_computed_in_blocks_of_the_size_asked(distances_made, metrics, pairs):
    rng = np.random.default_rng(0)
    real, generated = rng.normal(size=(20, 2)), rng.normal(size=(30, 2))
    values = precision_recall_density_coverage(real, generated, metrics=metrics, block_rows=4)
    assert values == pytest.approx({m: v for m, v in brute_force(real, generated, 3).items() if m in metrics})
    assert distances_made == [(rows, columns, 4) for rows, columns in pairs]
    distances_made.clear()
    manifold_scores(real, generated, metrics=metrics, block_rows=5)
    nearest_neighbor_radii(real, block_rows=6)
    assert {block for *_, block in distances_made} == {5, 6}


def test_default_blocks_follow_the_budget_with_at_least_one_row(monkeypatch):
    monkeypatch.setattr(precision_recall, "_BLOCK_ELEMENTS", 100)
    assert precision_recall._Distances(np.zeros((4, 2)), np.zeros((1, 2))).block_rows == 100
    assert precision_recall._Distances(np.zeros((4, 2)), np.zeros((300, 2))).block_rows == 1


def test_points_far_from_the_origin_along_different_axes_are_centred_on_each_axis():
    # Offsets of +1e8 and -1e8: the mean over all coordinates is 0, so only a per-axis centre avoids the
    # cancellation in ||a||^2 + ||b||^2 - 2 a.b (at 1e16 squared norms, float64 keeps no unit-scale distance).
    rng = np.random.default_rng(3)
    offset = np.array([1e8, -1e8])
    real, generated = rng.normal(size=(40, 2)), rng.normal(loc=0.5, scale=1.3, size=(33, 2))
    expected = brute_force(real, generated, 3)
    assert precision_recall_density_coverage(real + offset, generated + offset) == pytest.approx(expected, abs=1e-12)


def test_identical_points_at_the_centre_lie_in_each_others_balls():
    # All at the mean: every distance, radius and slack is exactly 0, and a closed ball still holds its centre.
    same = np.ones((5, 2))
    assert precision_recall_density_coverage(same, same, metrics=("precision", "recall", "coverage")) == {
        "precision": 1.0, "recall": 1.0, "coverage": 1.0}


def test_names_apply_to_the_metrics_they_name_and_the_others_keep_theirs():
    rng = np.random.default_rng(0)
    scores = manifold_scores(rng.normal(size=(20, 2)), rng.normal(size=(10, 2)), metrics=("precision", "recall"),
                             names={"precision": "precision_toy"})
    assert [(key, score.name) for key, score in scores.items()] == [("precision_toy", "precision_toy"),
                                                                     ("recall", "recall")]


@pytest.mark.parametrize("call, message", [
    (lambda x: precision_recall_density_coverage(x[:20], x[:3], metrics=("recall",)),
     "k-NN radii with k=3 need more than 3 samples in `generated_features`. Received: 3"),
    (lambda x: precision_recall_density_coverage(x[:20], x[:3], metrics=("precision",), k=2),
     None),  # precision needs no generated radii: 3 generated samples are enough
    (lambda x: precision_recall_density_coverage(x[:3], x[:20]),
     "k-NN radii with k=3 need more than 3 samples in `real_features`. Received: 3"),
    (lambda x: nearest_neighbor_radii(x[:3]), "k-NN radii with k=3 need more than 3 samples in `features`. Received: 3"),
    (lambda x: nearest_neighbor_radii(np.full((5, 2), np.inf)), "`features` contains NaN or infinite values"),
    (lambda x: precision_recall_density_coverage(x, np.full((5, 2), np.nan)),
     "`generated_features` contains NaN or infinite values"),
    (lambda x: nearest_neighbor_radii(x, k=True), "`k` must be a positive integer. Received: k=True"),
    (lambda x: nearest_neighbor_radii(x, k=2.0), "`k` must be a positive integer. Received: k=2.0"),
    (lambda x: precision_recall_density_coverage(x, x, metrics=("precison", "recal")),
     "unknown metric(s) 'precison', 'recal'; expected any of precision, recall, density, coverage"),
])
def test_each_check_names_the_argument_it_refuses(call, message):
    x = np.random.default_rng(0).normal(size=(20, 2))
    if message is None:
        call(x)
        return
    with pytest.raises(SpecError) as error:
        call(x)
    assert str(error.value) == message
