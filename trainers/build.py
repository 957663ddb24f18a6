"""From a trainer name, the built models by role and the spec's training options to a trainer instance."""

import difflib
import inspect
import re

from kspec.errors import SpecError
from kspec.registry import TRAINERS

# Other names a spec may give a role (specs/aae.yaml calls the AAE's discriminator `latent_discriminator`).
ROLE_ALIASES = {"latent_discriminator": "discriminator"}


def build_trainer(name, models, options=None, path="training", marks=None):
    """Constructs the trainer registered as `name` around `models`.

    Args:
        name: a trainer name in `kspec.registry.TRAINERS` (`"vae"`, `"gan"`, `"aae"`).
        models: dict from role to built `keras.Model` (`{"encoder": ..., "decoder": ...}`); roles the trainer
            does not use are refused, so a typo cannot silently drop a model.
        options: the trainer's constructor options from the spec (`{"beta": 4.0}`), without optimizers.
        path: spec path of the `training:` section, for error messages (options are at
            `PATH.trainer.NAME.OPTION`).
        marks: the spec's (marked) mapping of these options, for the file position of a wrong one.

    Returns:
        The trainer, a `keras.Model` still to be compiled with its optimizers.

    Raises:
        SpecError: an unknown trainer, missing or extra roles, an unknown option, or an invalid value.

    Example:
    >>> import keras
    >>> generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    >>> discriminator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    >>> gan = build_trainer("gan", {"generator": generator, "discriminator": discriminator}, {"loss": "hinge"})
    >>> type(gan.adversarial_loss).__name__
    'HingeLoss'
    """
    import kspec.trainers

    kspec.trainers.load_all()
    options = dict(options or {})
    try:
        trainer_class = TRAINERS.get(name)
    except KeyError as error:
        raise SpecError(f"{error.args[0]}; expected one of {_listing(TRAINERS.names())}.", path=f"{path}.trainer") from None

    parameters = inspect.signature(trainer_class.__init__).parameters
    # The trainers' required arguments are their models; everything with a default is an option.
    roles = [
        p.name
        for p in parameters.values()
        if p.name != "self" and p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    given = {ROLE_ALIASES.get(role, role): model for role, model in models.items()}
    missing = [role for role in roles if role not in given]
    extra = [role for role in models if ROLE_ALIASES.get(role, role) not in roles]
    if missing or extra:
        raise SpecError(
            f"trainer `{name}` takes the models {_listing(roles)}; "
            + (f"missing {_listing(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unused {_listing(extra)}" if extra else "")
            + ". Name the models of the spec after these roles.",
            path="models",
        )
    known = [p for p in parameters if p not in roles and p not in ("self", "kwargs")]
    for option in options:
        if option not in known:
            close = difflib.get_close_matches(option, known, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise SpecError(
                f"unknown option `{option}` for trainer `{name}`{hint}; expected one of {_listing(known)}.",
                path=f"{path}.trainer.{name}.{option}",
                mark=_mark(marks, option),
            )
    try:
        return trainer_class(**{role: given[role] for role in roles}, **options)
    except ValueError as error:
        # Keras-style messages name the argument ("Invalid value for argument `r1_gamma`: ..."): point at it.
        named = re.match(r"Invalid value for argument `(\w+)`", str(error))
        if named and named.group(1) in options:
            raise SpecError(str(error), path=f"{path}.trainer.{name}.{named.group(1)}",
                            mark=_mark(marks, named.group(1))) from None
        raise SpecError(str(error), path=path, mark=_mark(marks, None)) from None


def _mark(marks, option):
    from kspec.builder.document import mark_of

    return mark_of(marks, option) if marks is not None else None


def _listing(names):
    return ", ".join(f"`{n}`" for n in names)
