"""`kspec validate --grid`: every combination of a sweep validated with static shapes, as a table."""

import os

import pytest
from support import SPECS_DIR, run_cli

from kspec.builder.grid import MAX_COMBINATIONS, parse_grid, validate_grid

UNET = os.path.join(SPECS_DIR, "unet.yaml")


def test_grid_table_gives_parameters_per_combination_and_the_first_problem():
    result = run_cli("validate", UNET, "--grid", "params.depth=2,3", "--grid", "params.image_size=64,60")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        f"{UNET}: 4 combinations, 1 with problems",
        "  params.depth  params.image_size  unet parameters  result",
        "  2             64                         116,804  ok",
        "  2             60                         116,804  ok",
        "  3             64                         481,796  ok",
    ]
    assert lines[5].startswith("  3             60                                  ")
    assert lines[5].endswith(
        f"{UNET}:29:9: blocks.up.layers[merge] (in block `up` called as `up2` at models.unet.layers[2].layers[0]): "
        "`concatenate` needs inputs that agree on all axes but the concatenation axis, but axis 1 differs: "
        "`up2.upsample` (None, 14, 14, 64) vs `down2.conv2d_1` (None, 15, 15, 64); check the strides, padding or "
        "pooling upstream")


def test_a_valid_grid_exits_0():
    result = run_cli("validate", UNET, "--grid", "params.base_filters=8,16")
    assert result.exit_code == 0, result.output
    assert [row.parameters for row in validate_grid(UNET, ["params.base_filters=8,16"])] == [
        {"unet": 120708}, {"unet": 481796}]


def test_values_are_yaml_and_commas_inside_brackets_do_not_split():
    assert parse_grid(["params.sizes=[1, 2],[3],4", "params.name=a"]) == [
        ("params.sizes", ["[1, 2]", "[3]", "4"]), ("params.name", ["a"])]


@pytest.mark.parametrize("grid, message", [
    (["params.depth"], "--grid: expected KEY=V1,V2,... Received: 'params.depth'"),
    (["params.depth=2,,3"], "--grid: expected non-empty values separated by commas. Received: 'params.depth=2,,3'"),
    ([f"params.a={','.join(map(str, range(17)))}", f"params.b={','.join(map(str, range(17)))}"],
     f"--grid: the grid has 289 combinations; at most {MAX_COMBINATIONS} are validated at once: narrow it or split it"),
])
def test_bad_or_oversized_grids_are_refused_in_one_line(grid, message):
    arguments = [item for value in grid for item in ("--grid", value)]
    result = run_cli("validate", UNET, *arguments)
    assert result.exit_code == 1
    assert result.stderr.strip() == message
