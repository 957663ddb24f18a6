"""Reference result of the GAN regularizers: specs/dcgan.yaml on digits, plain, with DiffAugment and with R1.

    nice -n 10 python benchmarks/gan_regularizers_reference.py --out runs/gan_reference --epochs 30

Trains each configuration with seeds 0, 1, 2 (same epochs; `data.seed: 0` keeps one training/held-out split for
every run), one run after the other, skipping runs that already finished, then scores each run's last checkpoint
against the held-out digits (the 20% validation split the GAN never trained on) in the features of the digits
classifier (`kspec train specs/cnn_classifier.yaml --out runs/cnn`, layer `dense`, trained on the same split) and
prints the README's table: mean and population standard deviation over the seeds.
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGURATIONS = {
    "plain": [],
    "diffaugment": ["training.trainer.gan.diff_augment=[translation, cutout, color]"],
    "r1": ["training.trainer.gan.r1_gamma=1.0"],
}
SEEDS = (0, 1, 2)


def train_all(out, epochs):
    """Trains the missing runs, seed by seed, and records each run's wall time in `out/times.json`."""
    times_path = os.path.join(out, "times.json")
    times = json.load(open(times_path)) if os.path.exists(times_path) else {}
    for seed in SEEDS:
        for name, overrides in CONFIGURATIONS.items():
            run = os.path.join(out, f"{name}-seed{seed}")
            if os.path.exists(os.path.join(run, "checkpoints", "state.json")):
                continue
            command = ["kspec", "train", os.path.join(REPO, "specs", "dcgan.yaml"), "--out", run,
                       "--set", f"training.epochs={epochs}", "--set", f"training.seed={seed}", "--set", "data.seed=0"]
            for override in overrides:
                command += ["--set", override]
            print(" ".join(command), flush=True)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "kspec.cli", *command[1:]], check=True, stdout=subprocess.DEVNULL)
            times[os.path.basename(run)] = {"seconds": round(time.perf_counter() - start, 1),
                                            "load": os.getloadavg()}
            os.makedirs(out, exist_ok=True)
            with open(times_path, "w") as stream:
                json.dump(times, stream, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "gan_reference"))
    parser.add_argument("--epochs", type=int, default=30)
    arguments = parser.parse_args()
    train_all(arguments.out, arguments.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
