"""Trains the supervised reference specs at their committed settings and checks the reference results.

    python benchmarks/reference_results.py [--out runs/reference]

- cnn_classifier.yaml on digits: validation accuracy >= 0.95
- unet.yaml on synthetic shapes: validation mean IoU >= 0.8
- lstm_forecaster.yaml on the synthetic series: validation MAE at least 30% below the naive last-value forecast
Prints one Markdown table row per spec (the README's table) and exits 1 if a target is missed.
"""

import argparse
import csv
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def best(run, column, mode):
    with open(os.path.join(run, "metrics.csv"), newline="") as stream:
        values = [float(row[column]) for row in csv.DictReader(stream)]
    return (max if mode == "max" else min)(values), len(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "reference"))
    out = parser.parse_args().out

    from kspec import builder
    from kspec.data import NAIVE_MAE, load_arrays
    from kspec.training.train import train

    rows, ok = [], True
    for spec_name, column, mode, target in (
        ("cnn_classifier", "val_accuracy", "max", lambda value, spec: (value >= 0.95, "val accuracy >= 0.95")),
        ("unet", "val_mean_io_u", "max", lambda value, spec: (value >= 0.8, "val mean IoU >= 0.8")),
        ("lstm_forecaster", "val_mae", "min", None),
    ):
        spec_file = os.path.join(REPO, "specs", f"{spec_name}.yaml")
        run = os.path.join(out, spec_name)
        start = time.perf_counter()
        if not os.path.exists(os.path.join(run, "checkpoints", "state.json")):
            train(spec_file, out=run, verbose=2)
        seconds = time.perf_counter() - start
        value, epochs = best(run, column, mode)
        if target is None:
            spec = builder.load_spec(spec_file)
            naive = load_arrays(spec.data, seed=spec.training["seed"]).info.baselines[NAIVE_MAE]
            passed, goal = value <= 0.7 * naive, f"val MAE <= 0.7 x naive {naive:.3f} = {0.7 * naive:.3f}"
            shown = f"{value:.3f} ({value / naive:.0%} of naive)"
        else:
            (passed, goal), shown = target(value, None), f"{value:.4f}"
        ok &= passed
        rows.append(f"| `specs/{spec_name}.yaml` | best {column} {shown} | {goal} | {'met' if passed else 'MISSED'} | "
                    f"{epochs} epochs, {seconds:.0f} s |")
    print("| spec | measured | target | | run |\n| --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
