"""`kspec init`: every starter spec is written, validates and trains as written; unknown names and existing files
are refused with one line."""

import os

import pytest
import yaml
from support import run_cli

from kspec.builder.editor_schema import EDITOR_SCHEMA_PATH
from kspec.templates import template_names

TEMPLATES = ["aae", "autoencoder", "classifier", "forecaster", "gan", "unet", "vae"]
# One epoch on a little data (a few batches): enough to prove the starter trains as written.
TINY = {"digits": ["data.args.limit=128"], "shapes": ["data.args.count=16"], "sine_series": ["data.args.length=200"]}


def test_the_templates_are_the_documented_ones():
    assert template_names() == TEMPLATES


@pytest.mark.slow
@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_validates_and_trains_as_written(tmp_path, name):
    spec = tmp_path / "specs" / "spec.yaml"
    result = run_cli("init", name, "-o", spec)
    assert result.exit_code == 0, result.output
    text = spec.read_text()
    # The first line points editors at the schema, relative to where the spec was written.
    schema = os.path.relpath(EDITOR_SCHEMA_PATH, spec.parent)
    assert text.splitlines()[0] == f"# yaml-language-server: $schema={schema}"
    assert os.path.exists(os.path.join(spec.parent, schema))
    assert run_cli("validate", spec).exit_code == 0
    source = yaml.safe_load(text)["data"]["source"]
    overrides = ["training.epochs=1", *TINY[source]]
    result = run_cli("train", spec, "--out", tmp_path / "run", *[f"--set={o}" for o in overrides])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "checkpoints" / "state.json").exists()


def test_an_existing_file_is_kept_unless_forced(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("mine")
    result = run_cli("init", "vae", "-o", spec)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"-o: {spec} already exists; choose another -o or pass --force to replace it"
    assert spec.read_text() == "mine"
    assert run_cli("init", "vae", "-o", spec, "--force").exit_code == 0
    assert "trainer: {vae:" in spec.read_text()


def test_an_unknown_template_says_which_exist(tmp_path):
    result = run_cli("init", "classifer", "-o", tmp_path / "spec.yaml")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("TEMPLATE: unknown template `classifer` (did you mean 'classifier'?); expected "
                                     "one of: aae, autoencoder, classifier, forecaster, gan, unet, vae")
    assert not (tmp_path / "spec.yaml").exists()
