"""Benchmark of the spec pipeline, as ratios measured in one run (the machines are shared and noisy).

1. `kspec validate specs/*.yaml` as a user runs it (a fresh process), against `python -c "import yaml"`
   as the floor any Python CLI pays.
2. Building the U-Net and the VAE from their specs (load + validate + resolve + build) against the same
   networks written by hand in Keras, in the same process, alternating, medians of several repetitions.

Run: python benchmarks/bench_builder.py [--repeats 7]
"""

import argparse
import glob
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(glob.glob(os.path.join(REPO, "specs", "*.yaml")))


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def hand_unet(keras, size=64, depth=3, base=16, classes=4):
    def double_conv(x, filters):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        return keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)

    image = keras.Input((size, size, 1))
    x, skips = image, []
    for level in range(depth):
        x = double_conv(x, base * 2**level)
        skips.append(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = double_conv(x, base * 2**depth)
    for level in reversed(range(depth)):
        x = keras.layers.Conv2DTranspose(base * 2**level, 2, strides=2, padding="same")(x)
        x = keras.layers.Concatenate()([x, skips[level]])
        x = double_conv(x, base * 2**level)
    return keras.Model(image, keras.layers.Conv2D(classes, 1, activation="softmax")(x))


def hand_vae(keras):
    from kspec.layers import Sampling

    image = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(image)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(x))
    z_mean, z_log_var = keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)
    encoder = keras.Model(image, [z_mean, z_log_var, Sampling()([z_mean, z_log_var])])
    z = keras.Input((2,))
    x = keras.layers.Reshape((7, 7, 64))(keras.layers.Dense(7 * 7 * 64, activation="relu")(z))
    x = keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    decoder = keras.Model(z, keras.layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid")(x))
    return encoder, decoder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats

    validate_cmd = [sys.executable, "-m", "kspec.cli", "validate", *SPECS]
    floor_cmd = [sys.executable, "-c", "import yaml"]
    validate_times, floor_times = [], []
    for _ in range(repeats):
        validate_times.append(timed(lambda: subprocess.run(validate_cmd, check=True, capture_output=True)))
        floor_times.append(timed(lambda: subprocess.run(floor_cmd, check=True, capture_output=True)))
    v, f = statistics.median(validate_times), statistics.median(floor_times)
    print(f"kspec validate ({len(SPECS)} specs), fresh process: median {v * 1000:.0f} ms "
          f"(python -c 'import yaml': {f * 1000:.0f} ms; ratio {v / f:.2f})")

    import keras

    from kspec import builder

    for name, spec_file, by_hand in (
        ("U-Net", "unet.yaml", lambda: hand_unet(keras)),
        ("VAE", "vae.yaml", lambda: hand_vae(keras)),
    ):
        path = os.path.join(REPO, "specs", spec_file)
        builder.build(path), by_hand()  # warm up imports and Keras' caches
        spec_times, hand_times = [], []
        for _ in range(repeats):
            keras.backend.clear_session()
            spec_times.append(timed(lambda: builder.build(path)))
            keras.backend.clear_session()
            hand_times.append(timed(by_hand))
        s, h = statistics.median(spec_times), statistics.median(hand_times)
        print(f"build {name}: from spec median {s * 1000:.1f} ms, by hand {h * 1000:.1f} ms, ratio spec/hand {s / h:.2f}")


if __name__ == "__main__":
    main()
