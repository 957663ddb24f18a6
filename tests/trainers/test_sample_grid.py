import os

import numpy as np
import pytest
from PIL import Image

from kspec.trainers.gan import GAN
from kspec.trainers.sample_grid import SampleGrid, image_grid, write_png
from kspec.trainers.vae import VAE


def test_image_grid_tiles_row_major_with_padding():
    images = np.array([0.0, 0.5, 1.0], "float32").reshape(3, 1, 1, 1)
    grid = image_grid(images, columns=2, padding=1)
    # 2 rows x 2 columns of 1x1 images with 1 pixel between them; the fourth cell stays black.
    np.testing.assert_array_equal(grid[..., 0], [[0, 0, 128], [0, 0, 0], [255, 0, 0]])


def test_image_grid_maps_tanh_range_to_bytes():
    grid = image_grid(np.array([-1.0, 0.0, 1.0], "float32").reshape(3, 1, 1), columns=3, padding=0)
    np.testing.assert_array_equal(grid[..., 0], [[0, 128, 255]])


def test_image_grid_refuses_two_channel_images():
    with pytest.raises(ValueError) as error:
        image_grid(np.zeros((2, 4, 4, 2)))
    assert str(error.value) == (
        "Invalid value for argument `images`: expected shape (n, height, width[, 1 or 3]). "
        "Received: images.shape=(2, 4, 4, 2)"
    )


def test_write_png_leaves_only_the_finished_file(tmp_path):
    grid = np.arange(12, dtype="uint8").reshape(2, 2, 3)
    path = write_png(grid, str(tmp_path / "grid.png"))
    assert os.listdir(tmp_path) == ["grid.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(path)), grid)


def test_vae_grids_of_samples_and_reconstructions_each_epoch(tmp_path, tiny, vae_models):
    vae = VAE(*vae_models, seed=0)
    vae.compile(optimizer="adam")
    images = tiny.images(16)
    callback = SampleGrid(str(tmp_path / "samples"), num_samples=9, images=images[:5], log_dir=str(tmp_path / "logs"))
    vae.fit(images, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    assert sorted(os.listdir(tmp_path / "samples")) == [
        "reconstructions_0001.png",
        "reconstructions_0002.png",
        "samples_0001.png",
        "samples_0002.png",
    ]
    # 3x3 grid of 8x8 images with 1 pixel of padding; reconstructions: 3 columns, rows paired with originals.
    assert Image.open(tmp_path / "samples" / "samples_0002.png").size == (26, 26)
    assert Image.open(tmp_path / "samples" / "reconstructions_0001.png").size == (26, 35)
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "logs"))


def test_gan_grid_every_other_epoch(tmp_path, tiny, gan_models):
    gan = GAN(*gan_models, seed=0)
    gan.compile(d_optimizer="adam", g_optimizer="adam")
    callback = SampleGrid(str(tmp_path), num_samples=4, value_range=(-1.0, 1.0), every=2)
    gan.fit(tiny.images(8, low=-1.0), batch_size=8, epochs=4, verbose=0, callbacks=[callback])
    assert sorted(os.listdir(tmp_path)) == ["samples_0002.png", "samples_0004.png"]
    expected = image_grid(gan.sample(4, seed=0), value_range=(-1.0, 1.0))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "samples_0004.png")), expected[..., 0])


def test_a_run_that_ends_between_grids_still_ends_with_one(tmp_path, tiny, gan_models):
    gan = GAN(*gan_models, seed=0)
    gan.compile(d_optimizer="adam", g_optimizer="adam")
    callback = SampleGrid(str(tmp_path), num_samples=4, value_range=(-1.0, 1.0), every=5)
    gan.fit(tiny.images(8, low=-1.0), batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    assert sorted(os.listdir(tmp_path)) == ["samples_0002.png"]


def test_every_must_be_positive():
    with pytest.raises(ValueError, match="expected an integer >= 1. Received: every=0"):
        SampleGrid("unused", every=0)


