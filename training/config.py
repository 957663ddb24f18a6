"""The `training:` section with its defaults, and the Keras objects it names (imports Keras lazily)."""

from dataclasses import dataclass, field

from kspec.builder.keras_catalog import lookup_entry
from kspec.builder.training_checks import SUPERVISED, split_call
from kspec.errors import SpecError

DEFAULTS = {"batch_size": 32, "epochs": 10, "seed": 0}


@dataclass
class TrainingConfig:
    """`training:` after defaults. Optimizer, schedule, loss and metrics stay as spec values until `keras_*`."""

    trainer: str = SUPERVISED
    trainer_options: dict = field(default_factory=dict)
    model: str | None = None
    models: dict = field(default_factory=dict)
    optimizer: object = "adam"
    optimizers: dict = field(default_factory=dict)
    learning_rate_schedule: object = None
    loss: object = None
    metrics: list = field(default_factory=list)
    batch_size: int = DEFAULTS["batch_size"]
    epochs: int = DEFAULTS["epochs"]
    steps_per_epoch: int | None = None
    seed: int = DEFAULTS["seed"]
    jit_compile: bool = False
    distribute: str | None = None
    precision: str = "float32"
    callbacks: dict = field(default_factory=dict)
    checkpoint: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)
    evaluation: dict | None = None
    freeze: list = field(default_factory=list)
    unfreeze: list = field(default_factory=list)
    stages: list = field(default_factory=list)

    @classmethod
    def from_spec(cls, spec):
        """Reads a resolved spec's `training:` section (validated already) and fills in defaults."""
        section = dict(spec.training or {})
        trainer, options = split_call(section.pop("trainer", SUPERVISED))
        config = cls(trainer=trainer, trainer_options=options, **section)
        if config.stages:  # the run's epochs are the stages' (training_checks refuses `epochs` beside them)
            config.epochs = sum(stage["epochs"] for stage in config.stages)
        if config.trainer == SUPERVISED:
            config.model = config.model or next(iter(spec.models))
            if config.loss is None:
                raise SpecError("supervised training needs `loss:`, e.g. `loss: sparse_categorical_crossentropy`",
                                path="training.loss")
        return config


def stage_bounds(config):
    """`[(first epoch, end epoch)]` of each of `config.stages` (end exclusive), in order; one stage spanning all
    epochs when there are none."""
    bounds, start = [], 0
    for stage in config.stages or [{"epochs": config.epochs}]:
        bounds.append((start, start + stage["epochs"]))
        start += stage["epochs"]
    return bounds


def stage_optimizer(config, index):
    """The optimizer spec value of stage `index`: its own `optimizer` (else the run's), with its
    `learning_rate` (which replaces a schedule) when given; and the schedule that applies."""
    stage = config.stages[index] if config.stages else {}
    optimizer = stage.get("optimizer", config.optimizer)
    if "learning_rate" not in stage:
        return optimizer, config.learning_rate_schedule
    name, args = split_call(optimizer)
    return {name: {**args, "learning_rate": stage["learning_rate"]}}, None


def _construct(section, value, module):
    if isinstance(value, str):
        return value  # Keras resolves names itself, e.g. "accuracy" from the loss and output shape
    name, args = split_call(value)
    entry = lookup_entry(section, name)
    if entry is None:  # a plain function name such as "mse" or "accuracy": Keras resolves it
        return name
    return getattr(module, entry["class"])(**args)


def keras_optimizer(value, schedule=None, precision="float32"):
    """The optimizer named in the spec, with the learning-rate schedule (if any) as its learning rate.

    Under `precision: mixed_float16` it is wrapped in a `keras.optimizers.LossScaleOptimizer`: float16's
    narrow range makes small gradients underflow to zero without loss scaling (bfloat16 has float32's range).
    """
    import keras

    name, args = split_call(value)
    entry = lookup_entry("optimizers", name)
    if schedule is not None:
        args["learning_rate"] = _construct("schedules", schedule, keras.optimizers.schedules)
    optimizer = getattr(keras.optimizers, entry["class"])(**args)
    return keras.optimizers.LossScaleOptimizer(optimizer) if precision == "mixed_float16" else optimizer


def keras_loss(value):
    import keras

    return _construct("losses", value, keras.losses)


def keras_metrics(values):
    import keras

    return [_construct("metrics", value, keras.metrics) for value in values]


def keras_callbacks(callbacks):
    """EarlyStopping / ReduceLROnPlateau from `training.callbacks`."""
    import keras

    return [_construct("callbacks", {name: args}, keras.callbacks) for name, args in callbacks.items()]
