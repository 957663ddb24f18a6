"""`kspec diff`: structural differences of two specs after resolution, with exit status like diff."""

import os

from support import SPECS_DIR, run_cli

from kspec.builder.diff import diff_specs, format_diff, load_side

VAE = os.path.join(SPECS_DIR, "vae.yaml")
UNET = os.path.join(SPECS_DIR, "unet.yaml")


def test_identical_specs_exit_0_and_say_so():
    result = run_cli("diff", VAE, VAE)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"--- {VAE}", f"+++ {VAE}", "= same networks and settings"]


def test_changed_param_shows_arguments_shapes_and_counts_per_node():
    result = run_cli("diff", VAE, VAE, "--set-b", "params.latent_dim=4", "--set", "training.epochs=3")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"--- {VAE} --set training.epochs=3",
        f"+++ {VAE} --set training.epochs=3 --set params.latent_dim=4",
        "~ model encoder: parameters 69,076 -> 69,144",
        "    ~ z_mean: units 2 -> 4; output (None, 2) -> (None, 4); parameters 34 -> 68",
        "    ~ z_log_var: units 2 -> 4; output (None, 2) -> (None, 4); parameters 34 -> 68",
        "    ~ z: output (None, 2) -> (None, 4)",
        "~ model decoder: parameters 65,089 -> 71,361",
        "    ~ input z: (None, 2) -> (None, 4)",
        "    ~ dense: parameters 9,408 -> 15,680",
    ]


def test_added_and_removed_nodes_and_settings_are_listed():
    shallow = load_side(UNET, ["params.depth=2"])
    deep = load_side(UNET)
    diff = diff_specs(shallow, deep, "depth 2", "depth 3")
    model = diff.models[0]
    assert model.parameters == (116804, 481796)
    assert [name for name, _ in model.added] == [
        "down2.conv2d", "down2.conv2d_1", "max_pooling2d_2", "up2.upsample", "up2.merge", "up2.double_conv.conv2d",
        "up2.double_conv.conv2d_1"]
    assert model.removed == []
    assert dict(model.added)["max_pooling2d_2"] == "max_pooling2d(pool_size: 2)  (None, 8, 8, 64)  0 parameters"
    assert "    ~ up1.upsample: from bottom.conv2d_1 -> up2.double_conv.conv2d_1" in format_diff(diff).splitlines()
    assert diff_specs(deep, load_side(UNET, ["data.args.count=10"])).settings == ["data.args.count: 768 -> 10"]


def test_a_run_directory_is_compared_through_its_spec(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "spec.yaml").write_text(open(VAE).read())
    assert run_cli("diff", tmp_path / "run", VAE).exit_code == 0


def test_a_broken_side_exits_2_with_its_problems(write_spec):
    broken = write_spec("kspec: 1\nmodels:\n  net:\n    inputs: {x: [4]}\n    layers: [{dense: {unit: 3}}]\n")
    result = run_cli("diff", VAE, broken)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{broken}:5:29: models.net.layers[0].dense.unit: `dense` has no argument `unit` (did you mean 'units'?)"
    )
