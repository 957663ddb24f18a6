"""Reference results of the translation specs: translation error against the known answer, trained vs untrained.

For a run of specs/pix2pix.yaml or specs/cyclegan.yaml on the embedded `digit_domains` pair, whose validation
images of B are the known translations of the validation images of A, prints (in the data's [-1, 1] units,
averaged over every validation pixel):

- L1 to the ground truth, |G(a) - b| (and |F(b) - a| for CycleGAN),
- for CycleGAN the cycle reconstruction error |F(G(a)) - a| and |G(F(b)) - b|,

for the trained run (last checkpoint) and for its untrained starting point (the same spec and seed, no step
taken), next to copying the input (|a - b|). With `--grid-dir` it also writes the rows A | G(A) | ... of the
first validation images for both.

Run: python benchmarks/translation_reference.py RUN [RUN ...] [--grid-dir docs/images] [--rows 8] [--scale 3]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def mean_absolute(x, y):
    return float(np.mean(np.abs(np.asarray(x) - np.asarray(y))))


def errors(trainer, a, b):
    g_a = trainer.translate(a)
    found = {"L1 G(a) to b": mean_absolute(g_a, b)}
    if hasattr(trainer, "generator_ba"):
        f_b = trainer.translate(b, "ba")
        found["L1 F(b) to a"] = mean_absolute(f_b, a)
        found["cycle |F(G(a)) - a|"] = mean_absolute(trainer.translate(g_a, "ba"), a)
        found["cycle |G(F(b)) - b|"] = mean_absolute(trainer.translate(f_b, "ab"), b)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--grid-dir")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--scale", type=int, default=3, help="pixels per image pixel in the grids (nearest)")
    args = parser.parse_args()

    import keras

    from kspec.data import load_arrays
    from kspec.trainers.sample_grid import write_png
    from kspec.trainers.translation_grid import translation_grid
    from kspec.training.checkpoints import read_state
    from kspec.training.trainer_from_spec import build_compiled_trainer, load_trained
    from kspec.training.run_directory import RunDirectory

    for run_dir in args.runs:
        trained, _, spec, config = load_trained(run_dir, "last")
        keras.utils.set_random_seed(config.seed)  # as `kspec train` does before building: the run's first weights
        untrained, _ = build_compiled_trainer(spec, config)
        arrays = load_arrays(spec.data, batch_size=config.batch_size, seed=config.seed)
        validation = arrays.validation
        if validation is None or validation.task != "translation":
            raise SystemExit(f"{run_dir}: its validation split has no pairs, so there is no ground truth to compare to")
        a, b = validation.inputs, validation.targets
        epochs = read_state(RunDirectory.open(run_dir))["epoch"]
        print(f"\n{run_dir}: `{config.trainer}` on {arrays.info.source} {spec.data.get('args')}, "
              f"{epochs} epochs; {len(a)} validation pairs; copying the input: |a - b| = {mean_absolute(a, b):.4f}")
        results = {"untrained": errors(untrained, a, b), f"trained ({epochs} epochs)": errors(trained, a, b)}
        names = list(next(iter(results.values())))
        print("| | " + " | ".join(names) + " |")
        print("| --- " * (len(names) + 1) + "|")
        for label, found in results.items():
            print(f"| {label} | " + " | ".join(f"{found[n]:.4f}" for n in names) + " |")
        if args.grid_dir:
            name = os.path.basename(os.path.normpath(run_dir))
            for label, trainer in (("untrained", untrained), (f"epoch{epochs}", trained)):
                rows = trainer.translation_rows(a[:args.rows], b[:args.rows])
                for direction, columns in rows.items():
                    path = os.path.join(args.grid_dir, f"{name}_{direction}_{label}.png")
                    grid = translation_grid(columns, value_range=(-1.0, 1.0))
                    write_png(np.repeat(np.repeat(grid, args.scale, axis=0), args.scale, axis=1), path)
                    print(f"wrote {path}")


if __name__ == "__main__":
    main()
