"""Class activation maps: where in an image a convolutional classifier finds the evidence for a class.

CAM (Zhou et al. 2016, sec. 2): when conv features f_k(x, y) reach the output through global average pooling
and one dense layer with weights w_k^c, the class score is S_c = sum_k w_k^c mean_xy f_k(x, y) + b_c, so
M_c(x, y) = sum_k w_k^c f_k(x, y) is a map whose mean is the score (less the bias): exact, no gradients.

Grad-CAM (Selvaraju et al. 2017, eqs. 1-2) works for any convolutional node A: with y^c the class score
before the softmax, alpha_k^c = mean_xy dy^c / dA_k(x, y) and L^c = ReLU(sum_k alpha_k^c A_k). On a GAP
head it is ReLU(CAM) / (height * width).

Maps live at the node's resolution; `kspec cam` upsamples them bilinearly to the input size, scales each to
[0, 1] and blends it over its image (`kspec.inspection.heatmap`).
"""

import difflib
import os
from dataclasses import dataclass

import numpy as np

from kspec.errors import SpecError

METHODS = ("auto", "cam", "grad-cam")
CONV_CLASSES = ("Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D")
# Layers that are the identity at inference, allowed between global average pooling and the dense layer.
_INFERENCE_IDENTITY = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
                       "AlphaDropout", "GaussianNoise")
_ACTIVATIONS = ("Activation", "Softmax")


@dataclass
class MapTarget:
    """Which node the maps are computed on and how.

    Attributes:
        layer: the spec node name of the feature map.
        method: `cam` or `grad-cam`.
        dense: the dense layer of a GAP head (for `cam`), else None.
    """

    layer: str
    method: str
    dense: object = None


def layer_class(node):
    """The Keras class name of a spec node's layer (`Conv2D` for `conv2d`), or `model` for a nested model."""
    from kspec.builder.keras_catalog import lookup_layer
    from kspec.builder.resolver import MODEL_OP

    if node.layer.op == MODEL_OP:
        return "model"
    entry = lookup_layer(node.layer.op)
    return entry["class"] if entry else node.layer.op.rsplit(".", 1)[-1]


def _single_input(graph, node):
    return graph.node(node.inputs[0]) if len(node.inputs) == 1 else None


def gap_head(graph, model):
    """`(feature node name, dense layer)` when the output is GAP -> [dropout] -> dense [-> softmax], else None."""
    node = graph.node(graph.outputs[0])
    while node is not None and layer_class(node) in _ACTIVATIONS:
        node = _single_input(graph, node)
    if node is None or layer_class(node) != "Dense":
        return None
    dense = model.get_layer(node.name)
    node = _single_input(graph, node)
    while node is not None and layer_class(node) in _INFERENCE_IDENTITY:
        node = _single_input(graph, node)
    if node is None or layer_class(node) != "GlobalAveragePooling2D" or len(node.inputs) != 1:
        return None
    return node.inputs[0], dense


def choose_target(graph, model, layer=None, method="auto"):
    """The node and method for the maps.

    Default layer: the input of the global average pooling of a GAP classifier (the map CAM is defined on),
    else the last convolutional node. `auto` uses CAM on that GAP input and Grad-CAM everywhere else.

    Raises:
        SpecError: for an unknown node (with the closest names), a node without a 2-D feature map, a model
            without convolutional nodes, or `cam` asked of a model or node it does not apply to.
    """
    from kspec.builder.checks import topological_order

    if method not in METHODS:
        raise SpecError(f"expected one of {', '.join(METHODS)}. Received: {method!r}", path="--method")
    head = gap_head(graph, model)
    if layer is None:
        if head is not None:
            layer = head[0]
        else:
            convolutions = [n.name for n in topological_order(graph) if layer_class(n) in CONV_CLASSES]
            if not convolutions:
                raise SpecError(f"model `{graph.name}` has no convolutional node to map; class activation maps need "
                                "a convolutional classifier", path="RUN_DIR")
            layer = convolutions[-1]
    elif graph.node(layer) is None:
        names = [n.name for n in graph.nodes]
        close = difflib.get_close_matches(layer, names, n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise SpecError(f"no node `{layer}` in model `{graph.name}`{hint}", path="--layer")
    shape = tuple(model.get_layer(layer).output.shape)
    if len(shape) != 4:
        raise SpecError(f"node `{layer}` outputs shape {shape[1:]}; class activation maps need a 2-D feature map "
                        "(height, width, channels)", path="--layer")
    on_gap_input = head is not None and layer == head[0]
    if method == "cam" and not on_gap_input:
        where = f"node `{layer}` is not the input of its global average pooling (`{head[0]}` is)" if head else \
            f"model `{graph.name}` does not end in global average pooling and one dense layer"
        raise SpecError(f"CAM needs a GAP classifier's feature map: {where}; use --method grad-cam", path="--method")
    if method == "grad-cam" or not on_gap_input:
        return MapTarget(layer, "grad-cam")
    return MapTarget(layer, "cam", head[1])


def _class_weights(matrix, classes):
    """Columns of a (features, units) matrix for `classes`; one sigmoid unit scores class 1 by +w, class 0 by -w."""
    if matrix.shape[-1] == 1:
        return np.where(np.asarray(classes)[None, :] == 1, 1.0, -1.0) * matrix[:, [0] * len(classes)]
    return matrix[:, classes]


def class_activation_maps(model, layer, dense, images, classes, batch_size=64):
    """CAM: `sum_k w_k^c f_k(x, y)` with `f` the output of `layer` and `w` the kernel of `dense`.

    Args:
        model: the classifier.
        layer: name of the feature layer feeding the global average pooling.
        dense: the dense layer after the pooling.
        images: normalized inputs `(n, height, width, channels)`.
        classes: one class index per image.
        batch_size: images per call.

    Returns:
        float32 maps `(n, h, w)` at the feature layer's resolution.
    """
    import keras

    features = keras.Model(model.inputs, model.get_layer(layer).output).predict(images, batch_size=batch_size,
                                                                                  verbose=0)
    weights = _class_weights(keras.ops.convert_to_numpy(dense.kernel), classes)  # (features, n)
    return np.einsum("nhwk,kn->nhw", features, weights).astype("float32")


def _score_model(model, graph, layer):
    """A model returning `[feature map of layer, class scores before the output's softmax or sigmoid]`."""
    import keras

    node = graph.node(graph.outputs[0])
    output_layer = model.get_layer(node.name)
    if layer_class(node) in _ACTIVATIONS and len(node.inputs) == 1:
        scores = model.get_layer(node.inputs[0]).output
    elif getattr(output_layer, "activation", None) in (keras.activations.softmax, keras.activations.sigmoid):
        # The same layer with a linear activation (weights shared by copying) gives the pre-activation scores.
        config = {**output_layer.get_config(), "activation": "linear", "name": f"{output_layer.name}_scores"}
        linear = type(output_layer).from_config(config)
        scores = linear(output_layer.input)
        linear.set_weights(output_layer.get_weights())
    else:
        scores = model.outputs[0]
    return keras.Model(model.inputs, [model.get_layer(layer).output, scores])


def grad_cam(model, graph, layer, images, classes, batch_size=64):
    """Grad-CAM maps of `classes` on the feature map of node `layer` (see the module docstring).

    Args:
        model: the classifier (its spec graph `graph` names the nodes).
        graph: the model's `ModelGraph`.
        layer: the node whose output is the feature map.
        images: normalized inputs `(n, height, width, channels)`.
        classes: one class index per image.
        batch_size: images per gradient computation.

    Returns:
        float32 maps `(n, h, w)` at the node's resolution.
    """
    # Backend-specific (TensorFlow): the gradient with respect to an intermediate tensor needs a tape.
    import tensorflow as tf

    scores_of = _score_model(model, graph, layer)
    maps = []
    for start in range(0, len(images), batch_size):
        batch = tf.constant(images[start:start + batch_size])
        chosen = np.asarray(classes[start:start + batch_size])
        with tf.GradientTape() as tape:
            features, scores = scores_of(batch, training=False)
            if scores.shape[-1] == 1:  # one sigmoid unit: class 1 scores +logit, class 0 -logit
                score = tf.where(tf.constant(chosen == 1), scores[:, 0], -scores[:, 0])
            else:
                score = tf.gather(scores, tf.constant(chosen), axis=1, batch_dims=1)
        gradients = tape.gradient(score, features)
        alpha = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)  # (b, 1, 1, k)
        maps.append(tf.nn.relu(tf.reduce_sum(alpha * features, axis=-1)).numpy())
    return np.concatenate(maps).astype("float32")


def peaks_inside(maps, masks):
    """Per map, whether its highest point lies on a nonzero pixel of the mask of the same size.

    Example:
    >>> maps = np.array([[[0.0, 1.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]])
    >>> peaks_inside(maps, np.array([[[0, 2], [0, 0]], [[0, 2], [0, 0]]])).tolist()
    [True, False]
    """
    maps, masks = np.asarray(maps), np.asarray(masks)
    peaks = maps.reshape(len(maps), -1).argmax(axis=1)
    return masks.reshape(len(masks), -1)[np.arange(len(masks)), peaks] > 0


def parse_class(value, class_names, count):
    """`--class`: `predicted` (returns None), a class index or a class name."""
    from kspec.training.data_facts import class_index

    if value in (None, "predicted"):
        return None
    return class_index(value, class_names or [str(i) for i in range(count)], option="--class")


def cam_run(run_dir, input_path, output, *, layer=None, class_="predicted", method="auto", checkpoint="best",
            batch_size=64, columns=8):
    """Class activation maps of a supervised image classifier run on images; writes a PNG and an npz.

    `output` (a .png) gets rows of originals, each followed by the row of their heatmaps; `output` with
    `.npz` gets the raw maps (`maps`, at the node's resolution), the upsampled `upsampled` maps, `classes`,
    `probabilities` and `names`.

    Args:
        run_dir: a supervised classification run on images.
        input_path: images (a directory) or a .npz file of raw images (see `kspec.inspection.inputs`).
        output: the PNG file.
        layer: spec node name of the feature map (default: see `choose_target`).
        class_: `predicted`, or a class index or name mapped for every image.
        method: `auto`, `cam` or `grad-cam`.
        checkpoint: `best` or `last`.
        batch_size: images per call.
        columns: images per row of the PNG.

    Returns:
        A dict with `method`, `layer`, `png`, `npz`, `classes` and `names`.

    Example (shell):
        kspec cam runs/shapes_cam --input shapes.npz -o cam.png
    """
    from kspec.inspection.heatmap import overlay, scale_each, upsample
    from kspec.inspection.inputs import read_inputs
    from kspec.inspection.output_files import write_npz
    from kspec.inspection.predict import from_logits, output_passes
    from kspec.inspection.uncertainty import as_class_probabilities
    from kspec.trainers.sample_grid import image_grid, write_png
    from kspec.training.supervised_run import load_supervised

    if not output.lower().endswith(".png"):
        raise SpecError(f"expected a file name ending in .png. Received: {output}", path="--output")
    trained = load_supervised(run_dir, checkpoint, command="cam")
    facts = trained.data_facts()
    if facts.task != "classification" or len(trained.model.outputs) != 1:
        raise SpecError(f"{trained.run.path} trained on `{facts.task}` data; class activation maps need a "
                        "classifier with one output", path="RUN_DIR")
    graph, model = trained.graph, trained.model
    target = choose_target(graph, model, layer, method)
    inputs = read_inputs(input_path, facts, trained.spec.data or {})
    probabilities = as_class_probabilities(output_passes(model, inputs.normalized, batch_size=batch_size,
                                                         logits=from_logits(trained.config)))
    chosen = parse_class(class_, facts.class_names, probabilities.shape[-1])
    classes = probabilities.argmax(-1) if chosen is None else np.full(len(probabilities), chosen)
    if target.method == "cam":
        maps = class_activation_maps(model, target.layer, target.dense, inputs.normalized, classes, batch_size)
    else:
        maps = grad_cam(model, graph, target.layer, inputs.normalized, classes, batch_size)
    upsampled = upsample(maps, inputs.raw.shape[1:3])
    originals = _rgb(_unit_range(inputs.raw))
    heat = overlay(originals, scale_each(upsampled))
    rows = []
    for start in range(0, len(heat), columns):
        rows += [originals[start:start + columns], heat[start:start + columns]]
    pad = columns - len(rows[-1])
    if pad and len(heat) > columns:  # keep original/heatmap pairs aligned when the last row is short
        rows[-2:] = [np.concatenate([r, np.zeros((pad, *r.shape[1:]), r.dtype)]) for r in rows[-2:]]
    write_png(image_grid(np.concatenate(rows), columns=min(columns, len(heat)), value_range=(0.0, 1.0)), output)
    maps_path = write_npz(os.path.splitext(output)[0] + ".npz", {
        "maps": maps, "upsampled": upsampled, "classes": classes, "probabilities": probabilities,
        "names": np.asarray(inputs.names, dtype=str)})
    return {"method": target.method, "layer": target.layer, "png": output, "npz": maps_path,
            "classes": [facts.class_name(int(c)) for c in classes], "names": inputs.names}


def _unit_range(images):
    low, high = float(images.min()), float(images.max())
    return ((images - low) / (high - low if high > low else 1.0)).astype("float32")


def _rgb(images):
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images[..., :3]
