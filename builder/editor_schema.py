"""The JSON Schema for editors: kspec's structural schema plus every catalog layer with its arguments.

`kspec validate` checks a spec with the small structural schema (`kspec.schema.json`) and then the layer
table, so its messages stay kspec's own. Editors only have a JSON Schema; this module generates the one they
get (`kspec.editor.schema.json`, printed by `kspec schema`, named in the `$schema` comment of the specs):
- every layer of `keras_catalog.json` is a property of a node, so editors complete `conv2d:`; its arguments
  are properties with their types and defaults and no others, so `dense: {unit: 3}` is flagged. Names that are
  not layers stay allowed: they may be block calls or user layers, which only `kspec validate` can check;
- every value may also be a `${...}` string, computed from params when the spec is resolved;
- a spec with `extends:` is an overlay merged over its parent mapping by mapping: keys its parent supplies
  (`models`, a model's `inputs`, `data.source`) are not required in it. Lists replace their parent's, so the
  layers inside them are complete and checked as such.

The file is generated, committed, and checked by a test (regenerate with
`python -m kspec.builder.keras_catalog --write`, which writes both, or with this module):

    python -m kspec.builder.editor_schema --write
    python -m kspec.builder.editor_schema --check
"""

import copy
import json
import os
import sys

from kspec.builder.keras_catalog import OBJECT_SECTIONS, load_table
from kspec.builder.schema import load_schema

EDITOR_SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "kspec.editor.schema.json")

_TEMPLATE = {"$ref": "#/$defs/template"}
_OR_NULL = "_or_null"  # as in checks.check_argument: `<type>_or_null` is `<type>` or null
_NODE_KEYS = ("name", "from", "repeat", "for", "if", "as", "layers", "model")
# The enumerated argument types of `checks.py`, as JSON values (null included where Keras takes None).
_ENUMS = {
    "padding": ["valid", "same"],
    "padding_causal": ["valid", "same", "causal"],
    "data_format": ["channels_last", "channels_first", None],
    "merge_mode": ["sum", "mul", "concat", "ave", None],
}


def _or_template(schema):
    return {"anyOf": [schema, _TEMPLATE]}


def _list_of(item):
    return {"type": "array", "items": _or_template(item)}


def _argument_types(activations):
    """Catalog argument type -> JSON Schema, mirroring the checks of `kspec.builder.checks`."""
    positive = {"type": "integer", "minimum": 1}
    integer = {"type": "integer"}
    types = {
        "positive_int": positive,
        "positive_ints": {"anyOf": [positive, {**_list_of(positive), "minItems": 1}]},
        "int": integer,
        "int_or_null": {"type": ["integer", "null"]},
        "int_or_ints": {"anyOf": [integer, {**_list_of(integer), "minItems": 1}]},
        "ints": {**_list_of(integer), "minItems": 1},
        "shape": _list_of({"anyOf": [positive, {"const": -1}]}),
        "number": {"type": "number"},
        "numbers": {"anyOf": [{"type": "number"}, {**_list_of({"type": "number"}), "minItems": 1}]},
        "fraction": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "bool": {"type": "boolean"},
        "str": {"type": ["string", "object"]},  # a name, or a Keras config mapping (initializers)
        "str_or_null": {"type": ["string", "null"]},
        "layer": {"$ref": "#/$defs/node"},
        "activation": {"anyOf": [{"enum": activations}, {"type": ["object", "null"]}]},
        "any": {},
    }
    # An initializer, regularizer or constraint: a catalog name, `{name: {arguments}}` or Keras' serialized form.
    types.update({name: {"type": ["string", "object", "null"]} for name in OBJECT_SECTIONS})
    types.update({name: {"enum": values} for name, values in _ENUMS.items()})
    return {f"argument_{name}": _or_template(schema) for name, schema in types.items()}


def _layer_schema(entry):
    properties, required = {}, []
    for name, argument in entry["arguments"].items():
        schema = {"$ref": f"#/$defs/argument_{argument['type']}"}
        if "default" in argument:
            schema["default"] = argument["default"]
        if argument.get("required"):
            required.append(name)
        properties[name] = schema
    layer = {
        "description": f"keras.layers.{entry['class']}" if entry["module"] == "keras.layers"
        else f"{entry['module']}.{entry['class']}",
        "type": "object" if required else ["object", "null"],
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        layer["required"] = required
    return layer


def _overlay(schema, definitions, overlays):
    """A copy of an object schema with no `required` anywhere in its mappings (what an `extends` child may omit).

    Follows properties and mapping values into `$defs`, whose overlay copies are collected in `overlays`
    (`model` -> `model_overlay`), but not list items: a list in a child spec replaces the parent's whole, so
    its items must be complete.
    """
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        target = definitions.get(name)
        if target is None or not _is_mapping(target):
            return schema
        if f"{name}_overlay" not in overlays:
            overlays[f"{name}_overlay"] = None  # placeholder: a definition may refer to itself
            overlays[f"{name}_overlay"] = _overlay(target, definitions, overlays)
        return {**schema, "$ref": f"#/$defs/{name}_overlay"}
    result = {key: value for key, value in schema.items() if key not in ("required", "minProperties")}
    if "properties" in schema:
        result["properties"] = {k: _overlay(v, definitions, overlays) for k, v in schema["properties"].items()}
    if isinstance(schema.get("additionalProperties"), dict):
        result["additionalProperties"] = _overlay(schema["additionalProperties"], definitions, overlays)
    return result


def _is_mapping(schema):
    return schema.get("type") == "object" or "properties" in schema


def generate_editor_schema(structure=None, table=None):
    """Builds the editor schema from the structural schema and the layer catalog (plain data; no Keras)."""
    schema = copy.deepcopy(structure or load_schema())
    table = table or load_table()
    definitions = schema["$defs"]
    definitions["template"] = {
        "type": "string",
        "pattern": r"\$\{",
        "description": "A value computed from params when the spec is resolved, e.g. \"${filters * 2}\".",
    }
    definitions.update(_argument_types(table["activations"]))
    node = definitions["node"]
    for arg_type in sorted({a["type"] for e in table["layers"].values() for a in e["arguments"].values()}):
        if arg_type.endswith(_OR_NULL) and f"argument_{arg_type}" not in definitions:
            # `positive_ints_or_null`: the base type or null, as checks.check_argument reads it.
            base = {"$ref": f"#/$defs/argument_{arg_type[:-len(_OR_NULL)]}"}
            definitions[f"argument_{arg_type}"] = {"anyOf": [base, {"type": "null"}]}
    layers = {entry["name"]: _layer_schema(entry) for entry in table["layers"].values()}
    clashes = sorted(set(layers) & set(node["properties"]))
    if clashes:
        raise RuntimeError(f"layer names clash with node keys: {clashes}")
    node["properties"] = {**node["properties"], **dict(sorted(layers.items()))}

    # `extends`: the root and its mappings become an overlay whose keys may all come from the parent.
    base = {key: value for key, value in schema.items() if key not in ("$schema", "$id", "title", "description", "$defs")}
    overlays = {}
    overlay = _overlay(base, definitions, overlays)
    definitions.update(overlays)
    overlay["required"] = ["kspec", "extends"]
    definitions["complete_spec"] = base
    definitions["extending_spec"] = overlay
    head = {key: schema[key] for key in ("$schema", "$id", "title", "description") if key in schema}
    return {
        **head,
        "x-generated": "by python -m kspec.builder.editor_schema --write from kspec.schema.json and keras_catalog.json",
        "if": {"type": "object", "required": ["extends"]},
        "then": {"$ref": "#/$defs/extending_spec"},
        "else": {"$ref": "#/$defs/complete_spec"},
        "$defs": definitions,
    }


def editor_schema_text():
    return json.dumps(generate_editor_schema(), indent=1) + "\n"


def load_editor_schema():
    """The committed editor schema as a dict (what `kspec schema` prints)."""
    with open(EDITOR_SCHEMA_PATH, encoding="utf-8") as stream:
        return json.load(stream)


def write_editor_schema():
    """Regenerates the committed file; returns its path."""
    with open(EDITOR_SCHEMA_PATH + ".tmp", "w", encoding="utf-8") as stream:
        stream.write(editor_schema_text())
    os.replace(EDITOR_SCHEMA_PATH + ".tmp", EDITOR_SCHEMA_PATH)
    return EDITOR_SCHEMA_PATH


def editor_schema_is_current():
    with open(EDITOR_SCHEMA_PATH, encoding="utf-8") as stream:
        return stream.read() == editor_schema_text()


def _main(argv):
    if "--write" in argv:
        print(f"wrote {write_editor_schema()}")
        return 0
    if not editor_schema_is_current():
        print(f"{EDITOR_SCHEMA_PATH} is out of date; run: python -m kspec.builder.editor_schema --write")
        return 1
    print("editor schema is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
