"""How often a classifier's activation map peaks inside the object, on `shapes` images it never saw.

    kspec train specs/shapes_cam.yaml --out runs/shapes_cam
    python benchmarks/cam_peaks.py runs/shapes_cam [--images 256] [--seed 1234] [--method auto|cam|grad-cam]

Draws one-shape images with `kspec.data.shapes.draw_shapes` (their masks say where the shape is), runs
`kspec cam` on them and prints the share of maps whose peak lies inside the shape, next to the share of
pixels the shapes cover (what a map peaking at random would score).
"""

import argparse
import os
import tempfile


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--method", default="auto")
    arguments = parser.parse_args()

    import numpy as np

    from kspec.data.shapes import draw_shapes
    from kspec.inspection.cam import cam_run, peaks_inside
    from kspec.training.data_facts import read_data_facts
    from kspec.training.run_directory import RunDirectory

    size = read_data_facts(RunDirectory.open(arguments.run)).input_shape[:2]
    images, masks, _ = draw_shapes(arguments.images, size, seed=arguments.seed, max_shapes=1)
    with tempfile.TemporaryDirectory() as directory:
        np.savez(os.path.join(directory, "shapes.npz"), x=images)
        result = cam_run(arguments.run, os.path.join(directory, "shapes.npz"), os.path.join(directory, "cam.png"),
                         method=arguments.method)
        inside = peaks_inside(np.load(result["npz"])["upsampled"], masks)
    print(f"{result['method']} on `{result['layer']}`: the peak lies inside the shape in {inside.sum()} of "
          f"{len(inside)} images ({inside.mean():.1%}); the shapes cover {(masks > 0).mean():.1%} of the pixels")


if __name__ == "__main__":
    main()
