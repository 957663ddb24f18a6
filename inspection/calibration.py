"""`kspec evaluate RUN --calibration`: does a classifier's confidence match its accuracy, with and without MC dropout?

Predictions are sorted into equal-width bins of confidence (the top class probability). In a calibrated model
each bin's accuracy equals its mean confidence; the reliability diagram draws both, and the expected
calibration error averages their gap weighted by the bins' sizes,
ECE = sum_b (n_b / n) |accuracy_b - confidence_b| (Naeini et al. 2015; Guo et al. 2017, eq. 3).
The run's validation split (read and normalized as in training) is scored once deterministically and once as
the mean of MC-dropout passes. With `ood`, the entropy and mutual information of the same passes on
out-of-distribution inputs are compared with those on the validation split (`kspec.inspection.ood`).
"""

import json
import os
from dataclasses import dataclass

import numpy as np

from kspec.errors import SpecError

DEFAULT_BINS = 15  # as Guo et al. 2017


@dataclass
class Bins:
    """Per confidence bin: number of predictions, their mean confidence, and the share that is correct."""

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def calibration_bins(probabilities, labels, bins=DEFAULT_BINS):
    """Sorts predictions into `bins` equal-width confidence bins over [0, 1] (a bin holds (low, high]).

    Args:
        probabilities: class probabilities `(n, classes)`.
        labels: true classes `(n,)`.
        bins: number of bins.

    Returns:
        `Bins`; empty bins have count 0 and confidence and accuracy 0.

    Example:
    >>> result = calibration_bins(np.array([[0.9, 0.1], [0.8, 0.2]]), np.array([0, 1]), bins=5)
    >>> result.counts.tolist(), float(result.accuracy[-1])
    ([0, 0, 0, 1, 1], 1.0)
    """
    probabilities = np.asarray(probabilities, dtype="float64")
    labels = np.asarray(labels).reshape(-1)
    confidence = probabilities.max(axis=-1)
    correct = (probabilities.argmax(axis=-1) == labels).astype("float64")
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    safe = np.maximum(counts, 1)
    return Bins(edges, counts, np.bincount(index, confidence, bins) / safe, np.bincount(index, correct, bins) / safe)


def expected_calibration_error(probabilities, labels, bins=DEFAULT_BINS):
    """ECE: the bin-size-weighted mean gap between accuracy and confidence (see the module docstring).

    Example:
    >>> expected_calibration_error(np.array([[0.9, 0.1], [0.9, 0.1]]), np.array([0, 1]), bins=10)
    0.4
    """
    result = calibration_bins(probabilities, labels, bins)
    weights = result.counts / max(result.counts.sum(), 1)
    return round(float(np.sum(weights * np.abs(result.accuracy - result.confidence))), 12)


def reliability_diagram(panels, path, bins=DEFAULT_BINS):
    """Draws one reliability diagram per panel side by side and writes a PNG.

    Args:
        panels: `{title: (probabilities, labels)}`.
        path: the PNG file.
        bins: confidence bins.

    Returns:
        `path`.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    from kspec.inspection.output_files import write_figure

    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.6), squeeze=False)
    for axis, (title, (probabilities, labels)) in zip(axes[0], panels.items()):
        result = calibration_bins(probabilities, labels, bins)
        centers = (result.edges[:-1] + result.edges[1:]) / 2
        width = 1.0 / bins
        filled = result.counts > 0
        axis.bar(centers[filled], result.accuracy[filled], width=width, edgecolor="black", color="#4c72b0",
                 label="accuracy")
        # The gap between each bar and its bin's mean confidence: what the ECE sums.
        low = np.minimum(result.accuracy, result.confidence)[filled]
        axis.bar(centers[filled], np.abs(result.confidence - result.accuracy)[filled], bottom=low, width=width,
                 facecolor="none", edgecolor="#c44e52", hatch="//", label="gap to mean confidence")
        axis.plot([0, 1], [0, 1], linestyle="--", color="gray", label="calibrated")
        ece = expected_calibration_error(probabilities, labels, bins)
        axis.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy",
                 title=f"{title}\nECE {ece:.4f} (n = {len(labels)})")
    # One legend below the panels, where it hides no bar.
    figure.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize="small")
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    write_figure(figure, path)
    plt.close(figure)
    return path


def evaluate_calibration(run_dir, output_dir, *, mc_samples=30, checkpoint="best", ood=(), batch_size=128, seed=0,
                         bins=DEFAULT_BINS):
    """Calibration of a classifier run on its validation split, deterministic and with MC dropout.

    Writes `output_dir/reliability.png` (both diagrams) and `output_dir/calibration.json` (the figures below).

    Args:
        run_dir: a supervised classification run.
        output_dir: directory for the files (created).
        mc_samples: dropout-active passes per example.
        checkpoint: `best` or `last`.
        ood: out-of-distribution kinds to compare with (`noise`, `shapes`).
        batch_size: examples per call.
        seed: seed of the dropout masks and of the out-of-distribution draws.
        bins: confidence bins.

    Returns:
        A dict: `examples`, `accuracy`, `ece` and `ece_mc_dropout`, `mc_samples`, and per OOD kind the AUROC
        of the predictive entropy (deterministic and MC) and of the mutual information.

    Example (shell):
        kspec evaluate runs/cnn --calibration -o runs/cnn/calibration --ood noise,shapes
    """
    import keras

    from kspec.data import load_arrays
    from kspec.inspection.ood import auroc, ood_inputs
    from kspec.inspection.predict import from_logits, output_passes
    from kspec.inspection.uncertainty import as_class_probabilities, classification_summary, entropy
    from kspec.training.supervised_run import load_supervised

    keras.utils.set_random_seed(seed)
    trained = load_supervised(run_dir, checkpoint, command="evaluate --calibration")
    facts = trained.data_facts()
    if facts.task != "classification":
        raise SpecError(f"{trained.run.path} trained on `{facts.task}` data; calibration needs a classifier",
                        path="RUN_DIR")
    arrays = load_arrays(trained.spec.data, batch_size=trained.config.batch_size, seed=trained.config.seed)
    part = arrays.validation if arrays.validation is not None else arrays.train
    inputs, labels = part.inputs, part.targets
    logits = from_logits(trained.config)

    def passes(x):
        plain = as_class_probabilities(output_passes(trained.model, x, batch_size=batch_size, logits=logits))
        mc = classification_summary(output_passes(trained.model, x, mc_samples=mc_samples, batch_size=batch_size,
                                                  logits=logits))
        return plain, mc

    plain, mc = passes(inputs)
    result = {
        "run": trained.run.path,
        "checkpoint": os.path.basename(trained.checkpoint),
        "split": "validation" if arrays.validation is not None else "train",
        "examples": int(len(labels)),
        "accuracy": float(np.mean(plain.argmax(-1) == labels)),
        "accuracy_mc_dropout": float(np.mean(mc["predicted"] == labels)),
        "ece": expected_calibration_error(plain, labels, bins),
        "ece_mc_dropout": expected_calibration_error(mc["probabilities"], labels, bins),
        "mc_samples": mc_samples,
        "bins": bins,
    }
    for kind in ood:
        out_plain, out_mc = passes(ood_inputs(kind, inputs, len(inputs), seed=seed))
        result[f"ood_{kind}"] = {
            "examples": int(len(out_plain)),
            "auroc_entropy": auroc(entropy(plain), entropy(out_plain)),
            "auroc_entropy_mc_dropout": auroc(mc["entropy"], out_mc["entropy"]),
            "auroc_mutual_information": auroc(mc["mutual_information"], out_mc["mutual_information"]),
            "mean_entropy_mc_dropout": {"in_distribution": float(np.mean(mc["entropy"])),
                                        "out_of_distribution": float(np.mean(out_mc["entropy"]))},
            "mean_mutual_information": {"in_distribution": float(np.mean(mc["mutual_information"])),
                                        "out_of_distribution": float(np.mean(out_mc["mutual_information"]))},
        }
    from kspec.training.run_directory import write_atomic

    os.makedirs(output_dir, exist_ok=True)
    reliability_diagram({"deterministic": (plain, labels),
                         f"MC dropout, {mc_samples} passes": (mc["probabilities"], labels)},
                        os.path.join(output_dir, "reliability.png"), bins)
    write_atomic(os.path.join(output_dir, "calibration.json"), json.dumps(result, indent=2) + "\n")
    return result


def calibration_command(run_dir, output_dir, *, ood="", **options):
    """`kspec evaluate RUN --calibration`: checks the options, runs `evaluate_calibration`, returns lines to print.

    Args:
        run_dir: the run directory.
        output_dir: the `-o` directory (required).
        ood: the `--ood` text, comma-separated kinds.
        **options: passed to `evaluate_calibration`.
    """
    from kspec.inspection.ood import OOD_KINDS

    if not output_dir:
        raise SpecError("--calibration writes reliability.png and calibration.json: give -o DIR", path="--output")
    kinds = [kind.strip() for kind in ood.split(",") if kind.strip()]
    for kind in kinds:
        if kind not in OOD_KINDS:
            raise SpecError(f"expected any of {', '.join(OOD_KINDS)}. Received: {kind!r}", path="--ood")
    result = evaluate_calibration(run_dir, output_dir, ood=kinds, **options)
    lines = [f"{result['split']} split, {result['examples']} examples: accuracy {result['accuracy']:.4f}, "
             f"ECE {result['ece']:.4f}; MC dropout ({result['mc_samples']} passes): accuracy "
             f"{result['accuracy_mc_dropout']:.4f}, ECE {result['ece_mc_dropout']:.4f}"]
    for kind in kinds:
        scores = result[f"ood_{kind}"]
        lines.append(f"out-of-distribution `{kind}` vs {result['split']}: AUROC of entropy "
                     f"{scores['auroc_entropy']:.4f} "
                     f"(MC dropout {scores['auroc_entropy_mc_dropout']:.4f}), of mutual information "
                     f"{scores['auroc_mutual_information']:.4f}")
    files = [os.path.join(output_dir, name) for name in ("reliability.png", "calibration.json")]
    lines.append(f"wrote {files[0]} and {files[1]}")
    return lines
