"""`metadata.parameters`: the parameter count a spec declares for each model, enforced.

Validate compares it with the static count (builder/shapes.py) when every layer of a model can be counted;
the Keras build (summary, build, train) compares it with `count_params()` in every case. A declared count
describes the spec as written: a `--set` that changes the architecture (anything but `training`, `data` and
`metadata`) makes it stale, so it is dropped from the document before resolution (and from run directories);
so does a spec that `extends` another and changes its architecture without declaring counts of its own.
"""

from kspec.builder.document import format_path, mark_at
from kspec.errors import Problem

# Overrides below these keys cannot change a model's weights.
_NOT_ARCHITECTURE = {"training", "data", "metadata"}


def forget_stale_counts(document, overrides):
    """Removes `metadata.parameters` from `document` when an override may have changed the models."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or "parameters" not in metadata:
        return
    if any(_top_key(override) not in _NOT_ARCHITECTURE for override in overrides):
        del metadata["parameters"]


def forget_inherited_counts(parents, child):
    """Removes the counts `parents` (an `extends` chain, merged) declare when `child` may change their models and
    declares none of its own: they describe the parent spec, not the one that extends it."""
    metadata = parents.get("metadata")
    if not isinstance(metadata, dict) or "parameters" not in metadata:
        return
    child_metadata = child.get("metadata")
    if isinstance(child_metadata, dict) and "parameters" in child_metadata:
        return
    if any(key not in _NOT_ARCHITECTURE | {"kspec"} for key in child):
        del metadata["parameters"]


def _top_key(override):
    key = override.split("=", 1)[0].strip()
    return key.split(".", 1)[0].split("[", 1)[0]


def parameter_problems(resolved, counts):
    """Problems where a counted model disagrees with `metadata.parameters`.

    Args:
        resolved: the `ResolvedSpec`.
        counts: `{model name: parameter count}`; None for a model that could not be counted.

    Returns:
        A list of `Problem`s at the metadata entries (a declared model that does not exist is one too).
    """
    declared = (resolved.metadata or {}).get("parameters") or {}
    problems = []
    document = resolved.document or {}
    for model, expected in declared.items():
        path = ("metadata", "parameters", model)
        where, mark = format_path(document, path), mark_at(document, path)
        if model not in resolved.models:
            problems.append(Problem(f"declares a count for model `{model}`, which the spec does not define "
                                    f"(models: {', '.join(resolved.models)})", where, mark))
        elif counts.get(model) is not None and counts[model] != expected:
            problems.append(Problem(f"model `{model}` has {counts[model]:,} parameters, but metadata declares "
                                    f"{expected:,}; correct the count or the model", where, mark))
    return problems
