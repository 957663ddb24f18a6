"""Expected calibration error, reliability diagrams and `kspec evaluate RUN --calibration`."""

import json

import numpy as np
import pytest
from support import run_cli

from kspec.inspection.calibration import calibration_bins, expected_calibration_error


@pytest.mark.parametrize("probabilities, labels, bins, ece", [
    # Perfect: 80% confident and right 4 times in 5.
    ([[0.8, 0.2]] * 5, [0, 0, 0, 0, 1], 10, 0.0),
    # Overconfident: 90% confident, right half the time.
    ([[0.9, 0.1]] * 4, [0, 0, 1, 1], 10, 0.4),
    # Two bins of two: (0.6 conf, 1/2 right) and (0.95 conf, 2/2 right): (2 * 0.1 + 2 * 0.05) / 4.
    ([[0.6, 0.4], [0.4, 0.6], [0.95, 0.05], [0.05, 0.95]], [0, 0, 0, 1], 10, 0.075),
])
def test_expected_calibration_error_closed_forms(probabilities, labels, bins, ece):
    assert expected_calibration_error(np.array(probabilities), np.array(labels), bins) == pytest.approx(ece)


def test_bins_hold_upper_edges_and_count_every_prediction():
    probabilities = np.array([[0.5, 0.5], [0.7, 0.3], [1.0, 0.0], [0.2, 0.8]])
    result = calibration_bins(probabilities, np.array([0, 0, 1, 1]), bins=5)
    # Confidences 0.5 in (0.4, 0.6]; 0.7 and 0.8 in (0.6, 0.8]; 1.0 in (0.8, 1.0].
    assert result.counts.tolist() == [0, 0, 1, 2, 1]
    assert result.accuracy[3] == 1.0 and result.confidence[3] == pytest.approx(0.75)
    assert result.accuracy[4] == 0.0 and result.confidence[4] == 1.0


def test_calibration_of_a_classifier_run_writes_diagram_and_figures(cnn_run, tmp_path):
    from PIL import Image

    out = tmp_path / "calibration"
    result = run_cli("evaluate", cnn_run, "--calibration", "-o", out, "--mc-samples", 5, "--ood", "noise,shapes",
                     "--checkpoint", "best")
    assert result.exit_code == 0, result.output
    figures = json.loads((out / "calibration.json").read_text())
    assert figures["split"] == "validation" and figures["examples"] == 48  # 20% of 240 digits
    assert 0.0 <= figures["ece"] <= 1.0 and 0.0 <= figures["ece_mc_dropout"] <= 1.0
    assert figures["mc_samples"] == 5 and figures["checkpoint"] == "best.keras"
    for kind in ("noise", "shapes"):
        scores = figures[f"ood_{kind}"]
        assert scores["examples"] == 48
        assert all(0.0 <= scores[key] <= 1.0 for key in ("auroc_entropy", "auroc_entropy_mc_dropout",
                                                          "auroc_mutual_information"))
    assert Image.open(out / "reliability.png").size == (840, 460)
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("validation split, 48 examples: accuracy ")
    assert lines[1].startswith("out-of-distribution `noise` vs validation: AUROC of entropy ")


@pytest.mark.parametrize("arguments, message", [
    ([], "--output: --calibration writes reliability.png and calibration.json: give -o DIR"),
    (["-o", "out", "--ood", "noise,gaussian"], "--ood: expected any of noise, shapes. Received: 'gaussian'"),
])
def test_calibration_option_errors_are_one_line(cnn_run, arguments, message):
    result = run_cli("evaluate", cnn_run, "--calibration", *arguments)
    assert result.exit_code == 1
    assert result.stderr.strip() == message


def test_calibration_refuses_a_generative_run(vae_run):
    result = run_cli("evaluate", vae_run, "--calibration", "-o", vae_run / "calibration")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"RUN_DIR: {vae_run} trained a `vae` model; `kspec evaluate --calibration` "
                                     "needs a supervised run (a spec without `training.trainer`)")
