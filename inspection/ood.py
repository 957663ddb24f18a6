"""Out-of-distribution checks: is a model's uncertainty higher on inputs unlike its training data?

An uncertainty score (predictive entropy, mutual information) works as an out-of-distribution detector when it
ranks unfamiliar inputs above familiar ones; the area under the ROC curve of that ranking (AUROC, 0.5 for a
useless score, 1.0 for a perfect one) is the usual figure (Hendrycks & Gimpel 2017).
"""

import numpy as np

OOD_KINDS = ("noise", "shapes")


def auroc(in_distribution, out_of_distribution):
    """Area under the ROC curve of a score separating out-of-distribution (positive) from in-distribution inputs.

    Equals the probability that a random out-of-distribution input scores higher than a random
    in-distribution one (ties count half).

    Example:
    >>> auroc([0.1, 0.2], [0.3, 0.4]), auroc([0.1, 0.2], [0.2, 0.1])
    (1.0, 0.5)
    """
    from sklearn.metrics import roc_auc_score

    scores = np.concatenate([np.ravel(in_distribution), np.ravel(out_of_distribution)])
    labels = np.concatenate([np.zeros(np.size(in_distribution)), np.ones(np.size(out_of_distribution))])
    return float(roc_auc_score(labels, scores))


def ood_inputs(kind, like, count, *, seed=0):
    """`count` out-of-distribution inputs shaped and scaled like the (normalized) examples `like`.

    Args:
        kind: `noise` (uniform between the smallest and largest value of `like`) or `shapes` (the synthetic
            circles, squares and triangles of `kspec.data.shapes`, one shape each, their [0, 1] pixels mapped
            onto the value range of `like`; images only).
        like: in-distribution examples `(n, ...)`, already normalized.
        count: how many to make.
        seed: seed of the draw.

    Returns:
        A float32 array `(count, *like.shape[1:])`.

    Example:
    >>> like = np.zeros((4, 8, 8, 1), "float32"); like[0, 0, 0, 0] = 1.0
    >>> images = ood_inputs("shapes", like, 3)
    >>> images.shape, 0.0 <= float(images.min()) <= float(images.max()) <= 1.0
    ((3, 8, 8, 1), True)
    """
    like = np.asarray(like, dtype="float32")
    low, high = float(like.min()), float(like.max())
    shape = like.shape[1:]
    if kind == "noise":
        return np.random.default_rng(seed).uniform(low, high, size=(count, *shape)).astype("float32")
    if kind == "shapes":
        if len(shape) != 3:
            raise ValueError(f"Invalid value for argument `kind`: `shapes` makes images, but the inputs have shape "
                             f"{shape}. Received: kind={kind!r}")
        from kspec.data.shapes import draw_shapes

        images, _, _ = draw_shapes(count, shape[:2], seed=seed, max_shapes=1)
        images = np.repeat(images, shape[2], axis=-1)
        return (low + images * (high - low)).astype("float32")
    raise ValueError(f"Invalid value for argument `kind`: expected one of {', '.join(OOD_KINDS)}. "
                     f"Received: kind={kind!r}")
