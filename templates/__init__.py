"""Starter specs for `kspec init TEMPLATE -o spec.yaml`: data files shipped in the package, one per kind of model.

Each one validates and trains as written on data kspec ships or makes (digits, shapes, sine_series), at a
size that trains in a minute on a laptop CPU; the comments say what to change first.

Example:
>>> "classifier" in template_names()
True
"""

import difflib
import os

from kspec.errors import SpecError

TEMPLATE_DIR = os.path.dirname(os.path.abspath(__file__))


def template_names():
    """The names `kspec init` accepts, sorted."""
    return sorted(name[:-5] for name in os.listdir(TEMPLATE_DIR) if name.endswith(".yaml"))


def write_template(name, output, force=False):
    """Writes the starter spec `name` to `output`; returns the path written.

    The first line points editors at kspec's JSON Schema (relative to `output`), for completion as you type.

    Args:
        name: a template name (`template_names()`).
        output: the spec file to write.
        force: replace an existing file.

    Raises:
        SpecError: unknown template, or `output` exists and `force` is not set.
    """
    from kspec.builder.editor_schema import EDITOR_SCHEMA_PATH
    from kspec.training.run_directory import write_atomic

    if name not in template_names():
        close = difflib.get_close_matches(name, template_names(), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise SpecError(f"unknown template `{name}`{hint}; expected one of: {', '.join(template_names())}",
                        path="TEMPLATE")
    output = os.path.abspath(output)
    if os.path.exists(output) and not force:
        raise SpecError(f"{output} already exists; choose another -o or pass --force to replace it", path="-o")
    schema = os.path.relpath(EDITOR_SCHEMA_PATH, os.path.dirname(output))
    with open(os.path.join(TEMPLATE_DIR, f"{name}.yaml"), encoding="utf-8") as stream:
        text = f"# yaml-language-server: $schema={schema}\n" + stream.read()
    try:
        os.makedirs(os.path.dirname(output), exist_ok=True)
        write_atomic(output, text)
    except OSError as error:
        raise SpecError(f"cannot write {output}: {error.strerror}", path="-o") from None
    return output
