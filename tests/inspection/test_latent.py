"""Attribute vectors from known latents, traversal grids, and `kspec attribute` / `kspec traverse` on a VAE run."""

import hashlib

import numpy as np
import pytest
from support import run_cli

from kspec.inspection.latent import attribute_vector, mean_latents, shifted_latents, traversal_latents


def test_attribute_vector_is_the_difference_of_the_label_means():
    rng = np.random.default_rng(0)
    centers = {0: np.array([1.0, -2.0, 0.5]), 3: np.array([-1.0, 4.0, 2.5])}
    labels = np.repeat([0, 3], 50)
    noise = rng.normal(size=(100, 3))
    noise -= np.concatenate([noise[:50].mean(0, keepdims=True).repeat(50, 0),
                             noise[50:].mean(0, keepdims=True).repeat(50, 0)])  # zero-mean noise per label
    latents = np.stack([centers[label] for label in labels]) + noise
    np.testing.assert_allclose(attribute_vector(latents, labels, 0, 3), centers[3] - centers[0], atol=1e-12)
    np.testing.assert_allclose(attribute_vector(latents, labels, 3, 0), centers[0] - centers[3], atol=1e-12)
    assert sorted(mean_latents(latents, labels)) == [0, 3]
    with pytest.raises(ValueError, match="no example of label 7"):
        attribute_vector(latents, labels, 0, 7)


def test_shifting_by_the_whole_vector_moves_a_mean_code_onto_the_other_mean():
    latents, labels = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 0.0], [6.0, 2.0]]), np.array([0, 0, 1, 1])
    vector = attribute_vector(latents, labels, 0, 1)
    means = mean_latents(latents, labels)
    shifted = shifted_latents(means[0][None], vector, [0.0, 0.25, 1.0])
    np.testing.assert_allclose(shifted[:, 0], [means[0], means[0] + vector / 4, means[1]])


def test_traversal_varies_only_the_chosen_dimensions():
    base = np.array([0.5, -0.5, 2.0])
    rows = traversal_latents(base, [0, 2, 1], -3.0, 3.0, 4)  # three dimensions: one row each
    assert rows.shape == (3, 4, 3)
    np.testing.assert_allclose(rows[0, :, 0], [-3, -1, 1, 3])
    np.testing.assert_allclose(rows[0, :, 1:], np.tile(base[1:], (4, 1)))
    np.testing.assert_allclose(rows[1, :, 2], [-3, -1, 1, 3])
    np.testing.assert_allclose(rows[1, :, :2], np.tile(base[:2], (4, 1)))
    np.testing.assert_allclose(traversal_latents(base, [1], -1.0, 1.0, 3)[0, :, 1], [-1, 0, 1])
    grid = traversal_latents(base, [2, 0], 0.0, 1.0, 3)
    assert grid.shape == (3, 3, 3)
    np.testing.assert_allclose(grid[:, :, 1], -0.5)
    np.testing.assert_allclose(grid[1, :, 2], [0.0, 0.5, 1.0])     # columns: first dimension, low to high
    np.testing.assert_allclose(grid[:, 1, 0], [1.0, 0.5, 0.0])     # rows: second dimension, high to low


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_attribute_and_traverse_write_reproducible_grids(vae_run, tmp_path):
    from PIL import Image

    result = run_cli("attribute", vae_run, "--from-label", 1, "--to-label", 7, "-o", tmp_path / "a.png", "-n", 5,
                     "--seed", 3)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("attribute vector 1 -> 7 (length ")
    # Rows: the 5 originals, then their codes shifted by 0, 1/4, ..., 1 of the vector; 28-pixel images.
    assert Image.open(tmp_path / "a.png").size == (5 * 29 - 1, 6 * 29 - 1)
    assert run_cli("attribute", vae_run, "--from-label", 1, "--to-label", 7, "-o", tmp_path / "b.png", "-n", 5,
                   "--seed", 3).exit_code == 0
    assert digest(tmp_path / "a.png") == digest(tmp_path / "b.png")

    result = run_cli("traverse", vae_run, "--dims", "1,0", "--range", -2, 2, "--steps", 4, "-o", tmp_path / "t.png")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {tmp_path / 't.png'} (4 x 4 images)"
    assert Image.open(tmp_path / "t.png").size == (4 * 29 - 1, 4 * 29 - 1)
    result = run_cli("traverse", vae_run, "--dims", "0", "--steps", 5, "-o", tmp_path / "row.png", "--from-data")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "row.png").size == (5 * 29 - 1, 28)


@pytest.mark.parametrize("command, message", [
    (["attribute", "--from-label", "1", "--to-label", "ten"],
     "--to-label: expected a class index below 10 or one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9. Received: 'ten'"),
    (["traverse", "--dims", "0,2"], "--dims: expected distinct latent dimensions from 0 to 1. Received: 0,2"),
    (["traverse", "--dims", "0,x"], "--dims: expected comma-separated integers. Received: '0,x'"),
    (["traverse", "--range", "1", "-1"], "--range: expected LOW < HIGH. Received: --range 1 -1"),
])
def test_latent_option_errors_are_one_line(vae_run, tmp_path, command, message):
    result = run_cli(command[0], vae_run, *command[1:], "-o", tmp_path / "x.png")
    assert result.exit_code == 1
    assert result.stderr.strip() == message


@pytest.mark.parametrize("command", [["attribute", "--from-label", "1", "--to-label", "2"], ["traverse"]])
def test_latent_tools_refuse_a_supervised_run(cnn_run, tmp_path, command):
    result = run_cli(command[0], cnn_run, *command[1:], "-o", tmp_path / "x.png")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"RUN_DIR: {cnn_run} trained a supervised model; `kspec {command[0]}` needs a "
                                     "vae or aae run (an encoder and a decoder)")
