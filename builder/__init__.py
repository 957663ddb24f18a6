"""The spec pipeline: load -> validate (schema, then semantics) -> resolve -> build.

Example:
>>> import os, kspec
>>> from kspec import builder
>>> path = os.path.join(os.path.dirname(kspec.__file__), "specs", "vae.yaml")  # a spec shipped with kspec
>>> spec = builder.load_spec(path, overrides=["params.latent_dim=3"])
>>> models = builder.build(spec)
>>> sorted(models)
['decoder', 'encoder']
"""

from kspec.builder.checks import check_resolved
from kspec.builder.loader import load_document
from kspec.builder.parameter_counts import forget_stale_counts
from kspec.builder.resolver import resolve
from kspec.builder.schema import check_schema, load_schema
from kspec.builder.search import check_search
from kspec.builder.shapes import check_shapes
from kspec.builder.training_checks import check_training
from kspec.errors import Problem, SpecError

__all__ = ["load_spec", "validate", "build", "load_schema", "SpecError", "Problem"]


def load_spec(path, overrides=(), allow_imports=()):
    """Loads, validates and resolves a spec file.

    Args:
        path: the spec's YAML file.
        overrides: `"key.path=value"` strings applied after `extends` (what `--set` passes).
        allow_imports: modules listed in the spec's `imports:` that may be imported for user layers.

    Returns:
        A `ResolvedSpec` (plain data; no Keras imported) with its static shapes in `.shapes`.

    Raises:
        SpecError: listing every problem found, each with file, line, column and spec path.
    """
    document = load_document(path, overrides)
    forget_stale_counts(document, overrides)
    problems = check_schema(document)
    if problems:
        raise SpecError(problems)
    resolved = resolve(document, str(path))
    problems = check_resolved(resolved, allow_imports) + check_training(resolved)
    if not problems:
        problems = check_shapes(resolved)  # static shapes and parameter counts, kept as resolved.shapes
    if not problems:  # the search puts values into a spec that must be valid itself first
        problems = check_search(resolved, allow_imports)
    if problems:
        raise SpecError(problems)
    return resolved


def validate(path, overrides=(), allow_imports=()):
    """Returns the list of `Problem`s of a spec file (empty when valid). Never imports TensorFlow or Keras."""
    try:
        load_spec(path, overrides, allow_imports)
    except SpecError as error:
        return error.problems
    return []


def build(spec, overrides=(), allow_imports=()):
    """Builds Keras models from a `ResolvedSpec` or a spec path: returns `{model name: keras.Model}`."""
    from kspec.builder.keras_models import build_models

    if not hasattr(spec, "models"):
        spec = load_spec(spec, overrides, allow_imports)
    return build_models(spec)
