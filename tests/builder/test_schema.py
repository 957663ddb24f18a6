"""kspec's JSON Schema is a valid draft 2020-12 schema, and `kspec schema` prints it."""

import json

from jsonschema import Draft202012Validator
from support import run_cli

from kspec.builder.schema import load_schema


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(load_schema())


def test_cli_prints_the_schema():
    result = run_cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
