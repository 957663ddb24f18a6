"""Kernel Inception Distance: the kernel, the unbiased estimator, and its behaviour at small N."""

import numpy as np
import pytest

from kspec.errors import SpecError
from kspec.metrics.kid import kernel_inception_distance, mmd2_unbiased, polynomial_kernel


def test_kernel_is_cubic_polynomial_of_scaled_dot_product():
    x, y = np.array([[1.0, 2.0]]), np.array([[3.0, -1.0]])
    assert polynomial_kernel(x, y)[0, 0] == pytest.approx(((1 * 3 - 2 * 1) / 2 + 1) ** 3)


def test_mmd2_matches_a_double_loop_over_pairs():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)) + 0.5

    def k(a, b):
        return (a @ b / 3 + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
    yy = sum(k(y[i], y[j]) for i in range(4) for j in range(4) if i != j) / 12
    xy = sum(k(x[i], y[j]) for i in range(5) for j in range(4)) / 20
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_unbiased_near_zero_for_two_samples_of_one_distribution():
    # 40 independent pairs of sets from one distribution: the mean of their KIDs must be within a few
    # standard errors of 0 (a biased estimator would sit well above it).
    rng = np.random.default_rng(1)
    pairs = [(rng.normal(size=(60, 8)), rng.normal(size=(60, 8))) for _ in range(40)]
    values = [kernel_inception_distance(x, y, subsets=1).value for x, y in pairs]
    standard_error = np.std(values) / np.sqrt(len(values))
    assert abs(np.mean(values)) < 4 * standard_error
    # The biased (V-statistic) estimate, which keeps k(x_i, x_i), would fail that bound: the test has power.
    biased = [
        polynomial_kernel(x, x).mean() + polynomial_kernel(y, y).mean() - 2 * polynomial_kernel(x, y).mean()
        for x, y in pairs
    ]
    assert np.mean(biased) > 4 * standard_error


def test_detects_a_shifted_distribution():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(300, 8)), rng.normal(size=(300, 8)) + 0.5
    score = kernel_inception_distance(real, fake, subsets=20, subset_size=100)
    assert score.value > 4 * score.std > 0
    assert (score.name, score.n, score.n_reference) == ("kid", 300, 300)


def test_works_below_subset_size():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(40, 4)), rng.normal(size=(40, 4))
    score = kernel_inception_distance(real, fake, subsets=5, name="kid_toy")
    assert score.value == pytest.approx(mmd2_unbiased(real, fake), rel=1e-12)  # every subset is the whole set
    assert score.std == pytest.approx(0.0, abs=1e-12)
    uneven = kernel_inception_distance(np.concatenate([real, real + 1]), fake, subsets=5, name="kid_toy")
    assert (uneven.name, uneven.n, uneven.n_reference) == ("kid_toy", 40, 80)
    assert uneven.std > 0  # subsets of 40 of the 80 real rows differ


def test_is_seeded():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(80, 4)), rng.normal(size=(80, 4))
    a = kernel_inception_distance(real, fake, subsets=10, subset_size=20, seed=3)
    assert a == kernel_inception_distance(real, fake, subsets=10, subset_size=20, seed=3)
    assert a != kernel_inception_distance(real, fake, subsets=10, subset_size=20, seed=4)


@pytest.mark.parametrize(
    "real, fake, message",
    [
        (np.zeros((5, 3)), np.zeros((5, 4)), r"same dimension. Received: 3 \(real\) and 4 \(generated\)"),
        (np.zeros((1, 3)), np.zeros((5, 3)), "at least 2 samples in each set. Received: 1 and 5"),
        (np.zeros(5), np.zeros((5, 3)), r"`real_features` must be a 2-D array"),
        (np.zeros((5, 3)), np.zeros(5), r"^`generated_features` must be a 2-D array \(samples, dim\). Received: "
                                        r"shape=\(5,\)$"),
    ],
)
def test_invalid_inputs_are_refused(real, fake, message):
    with pytest.raises(SpecError, match=message):
        kernel_inception_distance(real, fake)


def test_defaults_are_the_papers_100_subsets_seeded_with_0():
    # Bińkowski et al. (2018): 100 rounds. Subsets of 10 rows of 40, so that each round differs.
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) + 0.1
    default = kernel_inception_distance(real, fake, subset_size=10)
    assert default == kernel_inception_distance(real, fake, subsets=100, subset_size=10, seed=0, name="kid")


def test_default_subset_size_is_the_papers_1000_rows():
    rng = np.random.default_rng(6)
    real, fake = rng.normal(size=(1001, 2)), rng.normal(size=(1001, 2)) + 0.1
    default = kernel_inception_distance(real, fake, subsets=1)
    assert default == kernel_inception_distance(real, fake, subsets=1, subset_size=1000)
    assert default != kernel_inception_distance(real, fake, subsets=1, subset_size=1001)  # both whole sets


@pytest.mark.parametrize("argument", ["subsets", "subset_size"])
@pytest.mark.parametrize("value", [0, 2.0, "10"])
def test_subset_counts_must_be_positive_integers(argument, value):
    with pytest.raises(SpecError) as caught:
        kernel_inception_distance(np.zeros((5, 3)), np.zeros((5, 3)), **{argument: value})
    assert str(caught.value) == f"`{argument}` must be a positive integer. Received: {argument}={value!r}"


def test_subsets_of_one_row_are_refused_whatever_the_set_sizes():
    with pytest.raises(SpecError) as caught:
        kernel_inception_distance(np.zeros((5, 3)), np.zeros((5, 3)), subset_size=1)
    assert str(caught.value) == "KID needs at least 2 samples in each set. Received: 5 and 5"


def test_two_rows_per_set_are_enough():
    # The unbiased estimator needs pairs i != j within each set: two rows are the fewest it can use.
    x, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0, 1.0], [2.0, 0.0]])
    assert kernel_inception_distance(x, y, subsets=1).value == pytest.approx(mmd2_unbiased(x, y), rel=1e-12)
