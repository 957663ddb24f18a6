"""`shapes`: seeded images of circles, squares and triangles whose masks match the drawn geometry."""

import numpy as np

from kspec.data.arguments import SourceArguments
from kspec.data.shapes import Shape, draw_shapes, shapes


def _only_shape(images_masks_layouts):
    _, masks, layouts = images_masks_layouts
    return masks[0], layouts[0][0]


def test_source_gives_float_images_in_unit_range_and_int_masks_of_four_classes():
    examples = shapes(SourceArguments({"size": [24, 32], "count": 6}, source="shapes", seed=3))
    assert examples.inputs.shape == (6, 24, 32, 1) and examples.inputs.dtype == np.float32
    assert examples.targets.shape == (6, 24, 32) and examples.targets.dtype == np.int32
    assert 0 <= examples.inputs.min() and examples.inputs.max() <= 1
    assert set(np.unique(examples.targets)) <= {0, 1, 2, 3} and examples.targets.max() > 0
    assert (examples.task, examples.num_classes) == ("segmentation", 4)


def test_same_seed_same_data_other_seed_other_data():
    first, again, other = (draw_shapes(3, (16, 16), seed=s)[0] for s in (7, 7, 8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_mask_pixels_of_a_lone_shape_are_exactly_its_geometry():
    rows, cols = np.mgrid[0:40, 0:40]
    for seed in range(12):
        mask, shape = _only_shape(draw_shapes(1, (40, 40), seed=seed, max_shapes=1, noise=0.0))
        dy, dx = rows - shape.center_y, cols - shape.center_x
        if shape.kind == "circle":
            inside = np.hypot(dy, dx) <= shape.radius
        elif shape.kind == "square":
            inside = (np.abs(dy) <= shape.radius) & (np.abs(dx) <= shape.radius)
        else:
            inside = (np.abs(dy) <= shape.radius) & (np.abs(dx) <= (dy + shape.radius) / 2)
        assert set(np.unique(mask)) == {0, shape.class_id}
        np.testing.assert_array_equal(mask == shape.class_id, inside)


def test_circle_mask_lies_within_its_radius():
    for seed in range(30):
        mask, shape = _only_shape(draw_shapes(1, (32, 32), seed=seed, max_shapes=1))
        if shape.kind != "circle":
            continue
        ys, xs = np.nonzero(mask == 1)
        assert ys.size > 0
        assert np.hypot(ys - shape.center_y, xs - shape.center_x).max() <= shape.radius
        return
    raise AssertionError("no circle drawn in 30 seeds")


def test_noise_free_image_shows_the_shape_at_its_intensity():
    images, masks, layouts = draw_shapes(1, (20, 20), seed=2, max_shapes=1, noise=0.0)
    shape = layouts[0][0]
    np.testing.assert_allclose(images[0, ..., 0][masks[0] > 0], shape.intensity, rtol=1e-6)
    assert images[0, ..., 0][masks[0] == 0].max() == 0


def test_triangle_apex_is_narrow_and_base_wide():
    triangle = Shape("triangle", center_y=10.0, center_x=10.0, radius=6.0, intensity=1.0)
    rows, cols = np.mgrid[0:21, 0:21]
    covered = triangle.covers(rows, cols)
    assert covered[4].sum() == 1 and covered[16].sum() == 13  # apex row 10 - 6, base row 10 + 6
