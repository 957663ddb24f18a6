"""`kspec validate --grid`: validate every combination of a sweep before anything trains.

`--grid 'params.depth=2,3,4' --grid 'params.filters=16,32'` expands to the 6 combinations of `--set`
overrides; each is validated with static shapes (no TensorFlow), giving its parameter count per model when
every layer can be counted, or its first problem.

Example:
>>> import os, kspec
>>> unet = os.path.join(os.path.dirname(kspec.__file__), "specs", "unet.yaml")  # a spec shipped with kspec
>>> [(row.overrides, row.parameters) for row in validate_grid(unet, ["params.depth=2,3"])]
[(['params.depth=2'], {'unet': 116804}), (['params.depth=3'], {'unet': 481796})]
"""

import itertools
from dataclasses import dataclass

import yaml

from kspec.errors import SpecError

MAX_COMBINATIONS = 256


@dataclass
class GridRow:
    """One combination: its overrides, `{model: parameters or None}` when valid, else its first problem."""

    overrides: list
    parameters: dict | None = None
    problem: str | None = None
    problem_count: int = 0


def parse_grid(grid):
    """`["params.depth=2,3"]` -> `[("params.depth", ["2", "3"])]`; commas inside brackets do not split."""
    axes = []
    for item in grid:
        key, separator, values = item.partition("=")
        if not separator or not key.strip():
            raise SpecError(f"expected KEY=V1,V2,... Received: {item!r}", path="--grid")
        parts = _split_values(values)
        if not all(part.strip() for part in parts):
            raise SpecError(f"expected non-empty values separated by commas. Received: {item!r}", path="--grid")
        for part in parts:
            try:
                yaml.safe_load(part)
            except yaml.YAMLError as error:
                raise SpecError(f"value {part!r} of {key.strip()} is not YAML: {str(error).splitlines()[0]}",
                                path="--grid") from None
        axes.append((key.strip(), [part.strip() for part in parts]))
    count = 1
    for _, values in axes:
        count *= len(values)
    if count > MAX_COMBINATIONS:
        raise SpecError(f"the grid has {count:,} combinations; at most {MAX_COMBINATIONS} are validated at once: "
                        "narrow it or split it", path="--grid")
    return axes


def _split_values(text):
    parts, depth, current = [], 0, ""
    for character in text:
        if character in "[{":
            depth += 1
        elif character in "]}":
            depth -= 1
        if character == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += character
    return parts + [current]


def validate_grid(path, grid, overrides=(), allow_imports=()):
    """Validates `path` under every combination of `grid`; returns one `GridRow` per combination, in order."""
    from kspec.builder import load_spec

    axes = parse_grid(grid)
    rows = []
    for values in itertools.product(*(values for _, values in axes)):
        combination = [f"{key}={value}" for (key, _), value in zip(axes, values)]
        row = GridRow(combination)
        try:
            spec = load_spec(path, [*overrides, *combination], allow_imports)
        except SpecError as error:
            row.problem, row.problem_count = str(error.problems[0]), len(error.problems)
        else:
            row.parameters = {name: shapes.total_parameters for name, shapes in spec.shapes.items()}
        rows.append(row)
    return rows


def format_grid(path, grid, rows):
    """A table: one column per grid key, parameters per model, and `ok` or the first problem."""
    keys = [key for key, _ in parse_grid(grid)]
    models = list(dict.fromkeys(name for row in rows for name in (row.parameters or {})))
    header = keys + [f"{name} parameters" for name in models] + ["result"]
    table = [header]
    for row in rows:
        cells = [item.partition("=")[2] for item in row.overrides]
        cells += ["" if row.parameters is None else _count(row.parameters.get(name)) for name in models]
        more = f" (+{row.problem_count - 1} more)" if row.problem_count > 1 else ""
        cells.append("ok" if row.problem is None else row.problem + more)
        table.append(cells)
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    failed = sum(row.problem is not None for row in rows)
    lines = [f"{path}: {len(rows)} combination{'s' if len(rows) != 1 else ''}, {failed} with problems"]
    for line in table:
        lines.append("  " + "  ".join(cell.rjust(width) if index >= len(keys) else cell.ljust(width)
                                      for index, (cell, width) in enumerate(zip(line, widths))) + "  " + line[-1])
    return "\n".join(lines)


def _count(count):
    return "?" if count is None else f"{count:,}"
