"""Inception Score (Salimans et al., 2016): exp(E_x KL(p(y|x) || p(y))), computed in float64."""

import numpy as np

from kspec.errors import SpecError
from kspec.metrics.score import Score


def inception_score(probs, splits=10, seed=0, name="inception_score"):
    """Inception Score of class probabilities, as originally defined, mean and spread over `splits`.

    The samples are shuffled with a seeded generator (the original code does not shuffle; it splits them in
    the order given), cut into `splits` contiguous parts of (nearly) equal size, and in each part IS = exp(mean_x KL(p(y|x) || p(y))) with p(y) the part's mean prediction. The
    score ranges from 1 (every prediction the same) to the number of classes (confident and balanced).

    Args:
        probs: array `(samples, classes)` of class probabilities (rows sum to 1; softmax outputs, not logits).
        splits: number of parts, default 10 as in the original code; at most the number of samples.
        seed: seed of the shuffle.
        name: log key: `inception_score` for the Inception network, `is_<extractor>` otherwise.

    Returns:
        A `Score`: mean over the parts and their population standard deviation, with `n` the sample count.

    Example:
    >>> import numpy as np
    >>> round(inception_score(np.eye(4)[np.arange(40) % 4], splits=1).value, 6)
    4.0
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise SpecError(f"`probs` must have shape (samples, classes) with classes >= 2. Received: shape={probs.shape}")
    if not isinstance(splits, (int, np.integer)) or not 1 <= splits <= probs.shape[0]:
        raise SpecError(
            f"`splits` must be an integer between 1 and the number of samples ({probs.shape[0]}). "
            f"Received: splits={splits!r}"
        )
    if not np.all(np.isfinite(probs)) or probs.min() < 0 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        raise SpecError(
            "`probs` must hold probabilities: non-negative rows summing to 1 (apply softmax to logits first)"
        )
    probs = probs / probs.sum(axis=1, keepdims=True)
    probs = probs[np.random.default_rng(seed).permutation(probs.shape[0])]

    count = probs.shape[0]
    scores = []
    for part in range(splits):
        chunk = probs[part * count // splits : (part + 1) * count // splits]
        marginal = chunk.mean(axis=0)
        # KL(p || q) = sum p log(p / q), with 0 log 0 = 0; q > 0 wherever p > 0 since q is the mean of the p.
        positive = chunk > 0
        ratio = np.where(positive, chunk, 1.0) / np.where(positive, marginal[None, :], 1.0)
        kl = np.sum(np.where(positive, chunk * np.log(ratio), 0.0), axis=1)
        scores.append(np.exp(kl.mean()))
    scores = np.asarray(scores)
    return Score(name, float(scores.mean()), std=float(scores.std()), n=count)
