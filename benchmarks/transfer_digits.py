"""Reference result of specs/transfer_digits.yaml: a classifier on 100 labelled digits, initialized from an
autoencoder pretrained on all digits (frozen, then fine-tuned), against the same spec from scratch.

    nice -n 10 python benchmarks/transfer_digits.py --seeds 0 1 2

Pretrains specs/autoencoder.yaml once (16x16, 10 epochs), then trains each arm once per seed (`training.seed`)
and prints the validation accuracy (900 held-out digits) at the last epoch and at the best one, as mean and
standard deviation over the seeds. Everything runs in a temporary directory through the `kspec` CLI.
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(REPO, "specs", "transfer_digits.yaml")
ARMS = {
    "pretrained encoder (frozen, then fine-tuned)": [],
    "pretrained encoder (all layers train in both stages)": ["training.freeze=[]"],
    "from scratch (all layers train in both stages)": ["models.encoder.init_from=null", "training.freeze=[]"],
}


def kspec(*args, cwd):
    subprocess.run([sys.executable, "-m", "kspec.cli", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def accuracies(run):
    with open(os.path.join(run, "metrics.csv"), newline="") as stream:
        values = [float(row["val_accuracy"]) for row in csv.DictReader(stream)]
    return values[-1], max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        kspec("train", os.path.join(REPO, "specs", "autoencoder.yaml"), "--out", "runs/digits_ae",
              "--set", "params.image_size=16", "--set", "training.epochs=10", cwd=work)
        print(f"{'arm':<54} {'last val_accuracy':>20} {'best val_accuracy':>20}")
        for arm, overrides in ARMS.items():
            results = []
            for seed in arguments.seeds:
                run = f"runs/{len(results)}-{abs(hash(arm))}"
                sets = [part for value in [*overrides, f"training.seed={seed}"] for part in ("--set", value)]
                kspec("train", SPEC, "--out", run, *sets, cwd=work)
                results.append(accuracies(os.path.join(work, run)))
            cells = []
            for column in zip(*results):
                spread = statistics.stdev(column) if len(column) > 1 else 0.0
                cells.append(f"{statistics.mean(column):.3f} ± {spread:.3f}")
            print(f"{arm:<54} {cells[0]:>20} {cells[1]:>20}   (seeds {arguments.seeds})")


if __name__ == "__main__":
    main()
