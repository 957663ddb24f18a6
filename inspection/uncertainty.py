"""Uncertainty from Monte Carlo samples of a model's outputs: entropy, mutual information (BALD), spread.

For a classifier, T dropout passes give class probabilities p_t(y|x). The predictive distribution is their
mean p(y|x) = (1/T) sum_t p_t(y|x), and its entropy H[p] is the total uncertainty. The mutual information
between the prediction and the weights, I = H[p] - (1/T) sum_t H[p_t], is the part that comes from the model
not knowing (disagreement between passes): BALD, "Bayesian active learning by disagreement" (Houlsby et al.
2011; Gal, Islam & Ghahramani 2017, eq. 4). A deterministic model has I = 0. Entropies are in nats.
For a regressor, the passes' mean is the prediction and their standard deviation its uncertainty.
"""

import numpy as np


def entropy(probabilities, axis=-1):
    """Shannon entropy in nats along `axis` (0 log 0 = 0).

    Example:
    >>> round(float(entropy(np.array([0.5, 0.5]))), 6), float(entropy(np.array([1.0, 0.0])))
    (0.693147, 0.0)
    """
    p = np.asarray(probabilities, dtype="float64")
    return np.sum(np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=axis)


def as_class_probabilities(outputs):
    """A sigmoid classifier's `(..., 1)` outputs as two-class probabilities `(..., 2)`; softmax outputs unchanged."""
    outputs = np.asarray(outputs, dtype="float64")
    if outputs.shape[-1] == 1:
        return np.concatenate([1.0 - outputs, outputs], axis=-1)
    return outputs


def classification_summary(samples):
    """Mean probabilities, predicted class, predictive entropy and mutual information of MC samples.

    Args:
        samples: class probabilities `(n, T, ..., classes)` from T passes (a single sigmoid unit is read as
            two classes); extra axes (segmentation pixels) are kept.

    Returns:
        A dict of NumPy arrays: `probabilities` `(n, ..., classes)`, `predicted` `(n, ...)` (int),
        `entropy` and `mutual_information` `(n, ...)`.

    Example:
    >>> agree = np.array([[[0.9, 0.1], [0.9, 0.1]]])     # one example, two passes that agree
    >>> disagree = np.array([[[1.0, 0.0], [0.0, 1.0]]])  # two confident passes that disagree
    >>> [round(float(classification_summary(s)["mutual_information"][0]), 4) for s in (agree, disagree)]
    [0.0, 0.6931]
    """
    samples = as_class_probabilities(samples)
    mean = samples.mean(axis=1)
    total = entropy(mean)
    expected = entropy(samples).mean(axis=1)
    return {
        "probabilities": mean,
        "predicted": np.argmax(mean, axis=-1),
        "entropy": total,
        # Clipped at 0: rounding can make H[p] - E[H[p_t]] a hair negative where the passes agree.
        "mutual_information": np.maximum(total - expected, 0.0),
    }


def regression_summary(samples):
    """Mean and standard deviation over the T passes of `samples` `(n, T, ...)`.

    Example:
    >>> summary = regression_summary(np.array([[[1.0], [3.0]]]))
    >>> summary["mean"].tolist(), summary["stddev"].tolist()
    ([[2.0]], [[1.0]])
    """
    samples = np.asarray(samples, dtype="float64")
    return {"mean": samples.mean(axis=1), "stddev": samples.std(axis=1)}
