"""kspec.metrics.score: a generative metric's value with its spread and counts."""

import pytest

from kspec.metrics.score import Score


@pytest.mark.parametrize("score, shown", [
    (Score("is_inception", 3.123456789, std=0.25, n=500), "is_inception = 3.12346 ± 0.25 (N = 500)"),
    (Score("kid_digits", 0.0125, std=1e-7, n=100, n_reference=0), "kid_digits = 0.0125 ± 1e-07 (N = 100, reference N = 0)"),
    (Score("fd_digits", 12.0), "fd_digits = 12 (N = 0)"),
])
def test_a_score_reads_as_name_value_spread_and_counts(score, shown):
    assert str(score) == shown


def test_a_score_is_its_value_as_a_number_and_fixed_once_made():
    score = Score("fd_digits", 7, n=3)
    assert float(score) == 7.0 and isinstance(float(score), float)
    assert (score.std, score.n_reference, score.protocol) == (None, None, None)
    with pytest.raises(AttributeError):
        score.value = 1.0
