"""Benchmark of the spec pipeline, as ratios measured in one run (the machines are shared and noisy).

1. `kspec validate` of 20 specs (the shipped ones and variants of them, static shapes and parameter counts
   included) as a user runs it, in a fresh process, against `python -c "import yaml"` as the floor any
   Python CLI pays. The budget is 0.5 s, and the process must import neither TensorFlow nor NumPy.
2. Building the U-Net and the VAE from their specs (load + validate + resolve + build) against the same
   networks written by hand in Keras, in the same process, alternating, medians of several repetitions.

Run: python benchmarks/bench_builder.py [--repeats 7] [--validate-only]
"""

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(glob.glob(os.path.join(REPO, "specs", "*.yaml")))
VALIDATE_BUDGET = 0.5  # seconds for 20 specs
# Variants of the shipped specs (spec file, params), written as `extends:` children, to make 20 specs.
VARIANTS = [
    ("unet.yaml", {"depth": 2}), ("unet.yaml", {"depth": 4}), ("unet.yaml", {"base_filters": 32}),
    ("cnn_classifier.yaml", {"filters": 64}), ("vae.yaml", {"latent_dim": 16}), ("dcgan.yaml", {"filters": 32}),
    ("lstm_forecaster.yaml", {"units": 64}), ("aae.yaml", {"latent_dim": 8}), ("ring_gan.yaml", {"hidden": 256}),
    ("autoencoder.yaml", {"code_size": 32}), ("unet.yaml", {"image_size": 128, "depth": 5}),
]


def twenty_specs(directory):
    """The shipped specs plus `VARIANTS` written into `directory` (each declaring its own parameter counts)."""
    import yaml

    from kspec import builder

    paths = list(SPECS)
    for index, (name, params) in enumerate(VARIANTS[:20 - len(SPECS)]):
        base = os.path.join(REPO, "specs", name)
        spec = builder.load_spec(base, overrides=[f"params.{k}={v}" for k, v in params.items()])
        counts = {model: shapes.total_parameters for model, shapes in spec.shapes.items()}
        path = os.path.join(directory, f"variant{index:02d}_{name}")
        with open(path, "w") as stream:
            yaml.safe_dump({"kspec": 1, "extends": base, "params": params, "metadata": {"parameters": counts}}, stream)
        paths.append(path)
    return paths


def heavy_imports(paths):
    """TensorFlow, Keras or NumPy modules that `kspec validate PATHS` imports (a fresh process)."""
    code = ("import sys\nfrom kspec.cli import main\ntry:\n    main(['validate', *sys.argv[1:]])\n"
            "except SystemExit as exit:\n    assert exit.code in (0, None), exit.code\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'numpy'}))\n")
    result = subprocess.run([sys.executable, "-c", code, *paths], check=True, capture_output=True, text=True)
    return result.stdout.strip().splitlines()[-1]


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
    parser.add_argument("--validate-only", action="store_true", help="only part 1 (no TensorFlow)")
    arguments = parser.parse_args()
    repeats = arguments.repeats

    with tempfile.TemporaryDirectory() as directory:
        specs = twenty_specs(directory)
        validate_cmd = [sys.executable, "-m", "kspec.cli", "validate", *specs]
        floor_cmd = [sys.executable, "-c", "import yaml"]
        validate_times, floor_times = [], []
        for _ in range(repeats):
            validate_times.append(timed(lambda: subprocess.run(validate_cmd, check=True, capture_output=True)))
            floor_times.append(timed(lambda: subprocess.run(floor_cmd, check=True, capture_output=True)))
        heavy = heavy_imports(specs)
    v, f = statistics.median(validate_times), statistics.median(floor_times)
    verdict = "within" if v < VALIDATE_BUDGET else "OVER"
    print(f"kspec validate ({len(specs)} specs, static shapes), fresh process: median {v * 1000:.0f} ms, {verdict} "
          f"the {VALIDATE_BUDGET * 1000:.0f} ms budget (python -c 'import yaml': {f * 1000:.0f} ms; "
          f"ratio {v / f:.2f}); "
          f"TensorFlow/Keras/NumPy imported: {heavy}; load averages {os.getloadavg()}")
    if arguments.validate_only:
        return

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
