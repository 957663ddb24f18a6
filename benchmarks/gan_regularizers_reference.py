"""Reference result of the GAN regularizers: specs/dcgan.yaml on digits, plain, with DiffAugment and with R1.

    kspec train specs/cnn_classifier.yaml --out runs/cnn
    nice -n 10 python benchmarks/gan_regularizers_reference.py --out runs/gan_reference --epochs 10

Trains each configuration with seeds 0, 1, 2 (same epochs; `data.seed: 0` keeps one training/held-out split for
every run), one run after the other, skipping runs that already finished; then scores each run's last checkpoint
as `kspec evaluate RUN --metrics fid,kid,precision,recall,density,coverage --reference validation --samples 1000
--extractor-run runs/cnn --layer dense --name digits -o RUN/held_out_scores.json` does: 1000 samples (seed 0)
against the held-out digits (the 20% validation split the GAN never trained on) in the features of the digits
classifier (trained on the same split), and prints the README's table: mean and population standard deviation
over the seeds, with 1000 training digits scored the same way as the real-data reference. `kspec sample RUN -n 64
--seed 0` of each configuration's seed-0 run goes to `--grids` (docs/images).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

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


METRICS = ("fid", "kid", "precision", "recall", "density", "coverage")
EXTRACTOR = {"run": os.path.join("runs", "cnn"), "layer": "dense", "name": "digits"}


def evaluate_all(out):
    """{configuration: {metric: [value per seed]}} of the finished runs, each also written to its side file."""
    from kspec.training.evaluation import evaluate_run, write_scores

    results, protocol = {}, None
    for name in CONFIGURATIONS:
        for seed in SEEDS:
            run = os.path.join(out, f"{name}-seed{seed}")
            if not os.path.exists(os.path.join(run, "checkpoints", "state.json")):
                continue
            scores = evaluate_run(run, METRICS, samples=1000, extractor=EXTRACTOR, seed=0, reference="validation")
            write_scores(scores, os.path.join(run, "held_out_scores.json"), run=os.path.abspath(run), checkpoint="last")
            for score in scores.values():
                results.setdefault(name, {}).setdefault(score.name, []).append(score.value)
            protocol = next(iter(scores.values())).protocol.describe()
    return results, protocol


def real_reference():
    """1000 training digits scored against the held-out ones like a generator's samples: the real-data row."""
    from kspec import builder
    from kspec.data import load_arrays
    from kspec.metrics.evaluation import evaluate
    from kspec.training.evaluation import make_extractor

    spec = builder.load_spec(os.path.join(REPO, "specs", "dcgan.yaml"), overrides=["data.seed=0"])
    arrays = load_arrays(spec.data, seed=0)
    ranged = make_extractor(EXTRACTOR)
    value_range = arrays.info.normalization.output_range
    train = arrays.train.inputs[np.random.default_rng(0).choice(len(arrays.train.inputs), 1000, replace=False)]
    scores = evaluate(ranged.adapt(train, value_range), ranged.extractor, real=ranged.adapt(arrays.validation.inputs,
                      value_range), metrics=METRICS, seed=0)
    return {score.name: [score.value] for score in scores.values()}


def sample_grids(out, directory):
    from kspec.training.sampling import sample_grid

    for name in CONFIGURATIONS:
        run = os.path.join(out, f"{name}-seed0")
        if os.path.exists(os.path.join(run, "checkpoints", "state.json")):
            print(sample_grid(run, 64, os.path.join(directory, f"dcgan_{name}_seed0.png"), seed=0))


def table(results):
    columns = [f"{metric}_digits" if metric != "fid" else "fd_digits" for metric in METRICS]
    lines = ["| run | seeds | " + " | ".join(columns) + " |", "| --- | --- |" + " --- |" * len(columns)]
    for name, values in results.items():
        cells = []
        for column in columns:
            array = np.asarray(values[column])
            cells.append(f"{array.mean():.4g} ± {array.std():.2g}" if len(array) > 1 else f"{array[0]:.4g}")
        lines.append(f"| {name} | {len(values[columns[0]])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "gan_reference"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--grids", default=None, help="Directory for the seed-0 sample grids (docs/images).")
    parser.add_argument("--evaluate-only", action="store_true", help="Score the finished runs; train nothing.")
    arguments = parser.parse_args()
    if not arguments.evaluate_only:
        train_all(arguments.out, arguments.epochs)
    results, protocol = evaluate_all(arguments.out)
    results["real training digits"] = real_reference()
    print(table(results))
    print(f"protocol: {protocol}; 1000 generated (seed 0) vs the 359 held-out digits")
    if arguments.grids:
        sample_grids(arguments.out, arguments.grids)
    return 0


if __name__ == "__main__":
    sys.exit(main())
