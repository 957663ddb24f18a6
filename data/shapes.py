"""`shapes`: synthetic segmentation images of circles, squares and triangles with per-pixel class masks."""

from dataclasses import dataclass

from kspec.data.lazy_numpy import np

from kspec.data.examples import Examples
from kspec.registry import DATA_SOURCES

CLASS_NAMES = ("background", "circle", "square", "triangle")
KINDS = CLASS_NAMES[1:]  # class id = index in CLASS_NAMES


@dataclass(frozen=True)
class Shape:
    """One drawn shape: its kind, centre (row, column in pixels), radius (half the width) and brightness."""

    kind: str
    center_y: float
    center_x: float
    radius: float
    intensity: float

    @property
    def class_id(self):
        return CLASS_NAMES.index(self.kind)

    def covers(self, rows, cols):
        """Boolean mask of the pixel centres `(rows, cols)` inside the shape."""
        dy, dx = rows - self.center_y, cols - self.center_x
        if self.kind == "circle":
            return dy**2 + dx**2 <= self.radius**2
        if self.kind == "square":
            return (np.abs(dy) <= self.radius) & (np.abs(dx) <= self.radius)
        # Upright triangle with apex (cy - r, cx) and base corners (cy + r, cx -/+ r): the half-width grows
        # from 0 at the apex to r at the base.
        return (dy >= -self.radius) & (dy <= self.radius) & (np.abs(dx) <= (dy + self.radius) / 2)


def draw_shapes(count, size, *, seed=0, max_shapes=3, noise=0.05, radius_range=(0.1, 0.25),
                intensity_range=(0.4, 1.0)):
    """Draws `count` grayscale images with 1 to `max_shapes` shapes each, and their class masks.

    Shapes are drawn in order, so a later shape hides an earlier one where they overlap, in the image and
    in the mask alike. Gaussian noise is added to the image only, then values are clipped to [0, 1].

    Args:
        count: number of images.
        size: `(height, width)` in pixels.
        seed: seed of the NumPy generator; equal seeds give equal data.
        max_shapes: most shapes per image.
        noise: standard deviation of the pixel noise.
        radius_range: smallest and largest radius as fractions of the smaller image side.
        intensity_range: smallest and largest shape brightness in [0, 1].

    Returns:
        `(images, masks, layouts)`: float32 `(count, height, width, 1)` in [0, 1], int32 `(count, height,
        width)` with 0 background, 1 circle, 2 square, 3 triangle, and per image the list of `Shape`s drawn.

    Example:
    >>> images, masks, layouts = draw_shapes(2, (32, 32), seed=1)
    >>> images.shape, masks.shape, int(masks.max()) <= 3
    ((2, 32, 32, 1), (2, 32, 32), True)
    """
    height, width = size
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype("float32")
    images = np.zeros((count, height, width), "float32")
    masks = np.zeros((count, height, width), "int32")
    layouts = []
    side = min(height, width)
    for index in range(count):
        shapes = []
        for _ in range(rng.integers(1, max_shapes + 1)):
            radius = min(max(1.0, rng.uniform(*radius_range) * side), (side - 1) / 2)
            # Keep the whole shape inside the image so its mask is never cut.
            shape = Shape(
                kind=KINDS[rng.integers(len(KINDS))],
                center_y=rng.uniform(radius, height - 1 - radius),
                center_x=rng.uniform(radius, width - 1 - radius),
                radius=radius,
                intensity=rng.uniform(*intensity_range),
            )
            inside = shape.covers(rows, cols)
            images[index][inside] = shape.intensity
            masks[index][inside] = shape.class_id
            shapes.append(shape)
        layouts.append(shapes)
    images = np.clip(images + rng.normal(0.0, noise, images.shape), 0.0, 1.0).astype("float32")
    return images[..., None], masks, layouts


@DATA_SOURCES.register("shapes")
def shapes(args):
    """Seeded synthetic images of shapes: segmentation masks (4 classes with background) or shape labels.

    Args (under `data.args`):
        size: image size, an integer or `[height, width]` (default 64).
        count: number of images (default 512).
        max_shapes: most shapes per image, at least 1 (default 3).
        noise: standard deviation of the Gaussian pixel noise (default 0.05).
        radius_range: `[low, high]` radius as fractions of the image side (default [0.1, 0.25]).
        intensity_range: `[low, high]` shape brightness (default [0.4, 1.0]).
        target: `masks` (segmentation, default) or `labels` (classification into circle, square, triangle:
            the kind of the shape covering most pixels; with `max_shapes: 1` the only one).

    `data.seed` fixes the images. Values are already in [0, 1] (`normalize: unit` leaves them so).

    Example:
    >>> from kspec.data.arguments import SourceArguments
    >>> examples = shapes(SourceArguments({"size": 32, "count": 3}, source="shapes"))
    >>> examples.inputs.shape, examples.targets.shape, examples.num_classes
    ((3, 32, 32, 1), (3, 32, 32), 4)
    """
    size = args.size("size", default=64)
    count = args.integer("count", default=512, minimum=1)
    max_shapes = args.integer("max_shapes", default=3, minimum=1)
    noise = args.number("noise", default=0.05, minimum=0)
    radius_range = args.numbers("radius_range", default=(0.1, 0.25), length=2, above=0)
    intensity_range = args.numbers("intensity_range", default=(0.4, 1.0), length=2, minimum=0)
    if not radius_range[0] <= radius_range[1] <= 0.5:
        raise args.error("radius_range", "expected [low, high] with low <= high <= 0.5 (a shape must fit in the "
                                         f"image). Received: radius_range={list(radius_range)}")
    if not intensity_range[0] <= intensity_range[1] <= 1:
        raise args.error("intensity_range", "expected [low, high] with 0 <= low <= high <= 1. "
                                            f"Received: intensity_range={list(intensity_range)}")
    target = args.choice("target", ("masks", "labels"), default="masks")
    args.finish()
    images, masks, _ = draw_shapes(count, size, seed=args.seed, max_shapes=max_shapes, noise=noise,
                                   radius_range=radius_range, intensity_range=intensity_range)
    if target == "labels":
        return Examples(images, largest_shape_labels(masks), "classification", num_classes=len(KINDS),
                        value_range=(0.0, 1.0), default_normalize="unit", class_names=KINDS)
    return Examples(images, masks, "segmentation", num_classes=len(CLASS_NAMES), value_range=(0.0, 1.0),
                    default_normalize="unit", class_names=CLASS_NAMES)


def largest_shape_labels(masks):
    """Per mask, the index in `KINDS` of the kind covering most pixels (background not counted).

    Example:
    >>> masks = np.array([[[0, 2], [2, 1]]])
    >>> largest_shape_labels(masks).tolist()  # two square pixels, one circle pixel
    [1]
    """
    counts = np.stack([(masks == kind).sum(axis=(1, 2)) for kind in range(1, len(CLASS_NAMES))], axis=1)
    return counts.argmax(axis=1).astype("int32")
