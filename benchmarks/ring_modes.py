"""Mode coverage of a GAN trained on the 8-Gaussian ring (specs/ring_gan.yaml).

    kspec train specs/ring_gan.yaml --out runs/ring
    python benchmarks/ring_modes.py runs/ring [--samples 10000]

Prints how many of the 8 modes the generator covers and the share of samples within 3 standard deviations
of a mode ("high-quality samples", as in VEEGAN, Srivastava et al. 2017).
"""

import argparse


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()

    from kspec.data import mode_coverage
    from kspec.training.trainer_from_spec import load_trained

    trainer, _, spec, _ = load_trained(arguments.run)
    args = spec.data["args"]
    points = trainer.sample(arguments.samples, seed=arguments.seed)
    coverage = mode_coverage(points, modes=args["modes"], radius=args["radius"], std=args["std"])
    print(f"{coverage.modes_covered} of {args['modes']} modes covered; "
          f"{coverage.high_quality_share:.1%} of {arguments.samples} samples within 3 std of a mode; "
          f"samples per mode {list(coverage.samples_per_mode)}")


if __name__ == "__main__":
    main()
