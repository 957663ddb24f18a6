"""`ring`: points on a circle of Gaussians, and the share and mode coverage of generated samples."""

import numpy as np

from kspec.data.arguments import SourceArguments
from kspec.data.ring import mode_coverage, ring, ring_modes, sample_ring


def test_source_gives_2d_points_near_the_circle():
    examples = ring(SourceArguments({"count": 400, "radius": 3.0, "std": 0.05}, source="ring", seed=4))
    assert examples.inputs.shape == (400, 2) and examples.inputs.dtype == np.float32
    assert examples.targets is None and examples.task == "generation"
    assert np.abs(np.linalg.norm(examples.inputs, axis=1) - 3.0).max() < 0.05 * 6


def test_true_samples_cover_every_mode_and_are_nearly_all_high_quality():
    coverage = mode_coverage(sample_ring(2000, seed=0))
    assert coverage.modes_covered == 8
    assert coverage.high_quality_share > 0.98  # 3 std in 2-D holds 1 - exp(-4.5) = 98.9 %
    assert sum(coverage.samples_per_mode) == round(coverage.high_quality_share * 2000)


def test_collapsed_samples_cover_one_mode():
    collapsed = np.repeat(ring_modes()[2:3], 50, axis=0)
    coverage = mode_coverage(collapsed)
    assert (coverage.modes_covered, coverage.high_quality_share) == (1, 1.0)
    assert coverage.samples_per_mode[2] == 50


def test_samples_off_the_modes_are_not_high_quality():
    between = np.array([[0.0, 0.0], [2.0, 0.07], [2.0, 0.05]])  # centre; 3.5 std off; 2.5 std off
    coverage = mode_coverage(between)
    assert coverage.high_quality_share == 1 / 3 and coverage.modes_covered == 1


def test_min_samples_raises_the_bar_for_a_covered_mode():
    points = np.concatenate([np.repeat(ring_modes()[:1], 5, axis=0), ring_modes()[1:2]])
    assert mode_coverage(points, min_samples=2).modes_covered == 1
    assert mode_coverage(points, min_samples=1).modes_covered == 2
