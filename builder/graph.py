"""The resolved form of a spec: plain nodes with concrete arguments, ready to check and build.

Resolution (builder/resolver.py) turns params, blocks and repetition into these; checks
(builder/checks.py) and the Keras build (builder/keras_models.py) read only these.
"""

from dataclasses import dataclass, field

from kspec.errors import Mark


@dataclass
class LayerCall:
    """A layer to construct: its table entry key (or `module.Class` for user layers) and arguments.

    Arguments whose table type is `layer` (for example `Bidirectional.layer`) hold nested `LayerCall`s.
    """

    op: str
    args: dict
    mark: Mark | None = None
    path: str = ""
    arg_marks: dict = field(default_factory=dict)
    defaulted: frozenset = frozenset()  # arguments that came from `defaults:` (checked there, once)


@dataclass
class InitFrom:
    """Where initial weights come from (`init_from:` of a model or a `{model: ...}` node); read at train time.

    Attributes:
        run: a run directory (its `model` after training), or None.
        file: a `.keras` or `.weights.h5` file, or None.
        model: which model of the run or file (default: the model being initialized's own name).
        checkpoint: `best` or `last` checkpoint of a run.
        strict: a layer whose weights have other shapes is an error (else it is skipped and reported).
        exclude: node-name patterns left as initialized (a new classifier head, say).
        path, mark: where `init_from:` is written, for errors.
    """

    run: str | None = None
    file: str | None = None
    model: str | None = None
    checkpoint: str = "best"
    strict: bool = True
    exclude: tuple = ()
    path: str = ""
    mark: Mark | None = None

    @property
    def source(self):
        return self.run if self.run is not None else self.file


@dataclass
class Node:
    """One layer applied to named inputs (other nodes or model inputs)."""

    name: str
    layer: LayerCall
    inputs: list
    mark: Mark | None = None
    path: str = ""
    context: str = ""  # "in block call `down2`" when the node came from a block body
    trainable: bool | None = None  # False: frozen by the node's (or its block call's) `trainable: false`
    init_from: InitFrom | None = None  # `{model: ...}` nodes only

    def where(self):
        return f"{self.path} ({self.context})" if self.context else self.path


@dataclass
class ModelInput:
    name: str
    shape: tuple
    dtype: str = "float32"
    mark: Mark | None = None
    path: str = ""


@dataclass
class ModelGraph:
    """One model: its inputs, nodes (in spec order; build sorts them), and output node names."""

    name: str
    inputs: list
    nodes: list
    outputs: list
    mark: Mark | None = None
    path: str = ""
    trainable: bool | None = None  # False: every weight of the model is frozen
    init_from: InitFrom | None = None

    def node(self, name):
        return next((n for n in self.nodes if n.name == name), None)


@dataclass
class ResolvedSpec:
    """Everything later stages need from a spec, with params, blocks and repetition resolved."""

    file: str
    models: dict
    params: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    imports: list = field(default_factory=list)
    training: dict | None = None
    data: dict | None = None
    document: dict | None = None  # the loaded document (after extends and overrides), for run directories
    shapes: dict | None = None  # {model: builder.shapes.ModelShapes}, filled in by validation
    defaults: list = field(default_factory=list)  # `LayerCall`s of the `defaults:` entries, for their checks
    init_reports: list = field(default_factory=list)  # `builder.init_from.InitReport`s, filled in by the build
