"""Load stage: YAML text -> marked plain data, with `extends` merged and `--set` overrides applied.

YAML is composed with PyYAML's *safe* loader and then converted by hand, node by node, so that
- only plain data tags are accepted (no `!!python/...`, no unknown `!tag`): nothing in a spec constructs
  Python objects or runs code;
- aliases are counted as they expand, so a "billion laughs" document fails fast instead of eating memory;
- every value keeps its line and column.
"""

import os
import re
import stat

import yaml

from kspec.builder.document import MarkedDict, MarkedList, mark_of
from kspec.builder.parameter_counts import forget_inherited_counts
from kspec.errors import Mark, SpecError

# Limits (documented in README "Security").
MAX_SPEC_BYTES = 1_000_000
MAX_VALUES = 100_000  # after alias expansion
MAX_DEPTH = 64  # nesting of mappings and lists
MAX_EXTENDS_DEPTH = 8

_PLAIN_TAGS = {
    "tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge")
}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def read_spec_file(path):
    """Reads one spec file (no `extends`, no overrides) into marked data.

    Only a regular file of at most `MAX_SPEC_BYTES` is read, and never more than that many bytes: a device
    (`/dev/zero`), a FIFO or a directory is refused before reading, so nothing hangs or fills memory.
    """
    display = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat of the open file then refuses it.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise SpecError(f"cannot read spec file: {error.strerror}", mark=Mark(display)) from None
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        what = "is a directory" if stat.S_ISDIR(status.st_mode) else "is not a regular file (a device, FIFO or socket)"
        raise SpecError(f"{what}; expected a spec file (.yaml)", mark=Mark(display))
    with os.fdopen(descriptor, "rb") as stream:
        try:
            data = stream.read(MAX_SPEC_BYTES + 1)  # bounded even if the file grows after fstat
        except OSError as error:
            raise SpecError(f"cannot read spec file: {error.strerror}", mark=Mark(display)) from None
    if len(data) > MAX_SPEC_BYTES:
        size = max(status.st_size, len(data))
        raise SpecError(f"spec file is {size} bytes; the limit is {MAX_SPEC_BYTES}. Split it with `extends`.",
                        mark=Mark(display))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"spec file is not UTF-8 text ({error.reason} at byte {error.start})", mark=Mark(display)) from None
    return parse_yaml(text, display)


# What YAML allows in a document (PyYAML's reader refuses everything else without a line number).
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")

# Plain-words hints for PyYAML's syntax errors, by a phrase of its context or problem; the first match wins.
_SYNTAX_HINTS = (
    ("found character '\\t'", "tabs cannot indent YAML: indent with spaces"),
    ("that cannot start any token", "`@` and a backquote cannot start a YAML value: put the value in quotes"),
    ("quoted scalar", "a quote is not closed: end the value with the same quote it starts with"),
    ("flow sequence", "a `[` is not closed, or the items inside it lack a comma"),
    ("flow mapping", "a `{` is not closed, or the entries inside it lack a comma"),
    ("flow node", "a `[` or `{` is not closed"),
    ("mapping values are not allowed", "a `: ` inside a value: check that the key before it has a space after "
     "its colon (`kspec: 1`, not `kspec:1`), or put the value in quotes"),
    ("could not find expected ':'", "a line is neither `key: value` nor `- item`: check for a missing space "
     "after a colon, or a value continued on a line without quotes"),
    ("undefined alias", "`*name` must refer to an anchor `&name` defined earlier in the same file"),
    ("single document", "a spec file holds one YAML document: remove the `---` line and what follows"),
    ("block collection", "`- item` lines and `key: value` lines are mixed at the same indentation"),
    ("but found '-'", "a `- item` line is indented differently from the lines above it, or lacks the space "
     "after its `-`"),
    ("expected <block end>", "this line is indented differently from the keys above it (keys of one mapping "
     "line up), or a `key:` lacks the space after its colon"),
)


def _syntax_hint(text):
    return next((hint for phrase, hint in _SYNTAX_HINTS if phrase in text), None)


def _refuse_control_characters(text, file):
    found = _NOT_PRINTABLE.search(text)
    if found:
        position = found.start()
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        raise SpecError(f"control character U+{ord(found.group()):04X} is not allowed in a spec; remove it",
                        mark=Mark(file, line, column))


# libyaml composes several times faster. Where it refuses a text, PyYAML's own parser decides: it accepts a
# few flow forms libyaml does not (`{a:, b: 1}`), and it words syntax errors better.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text, file="<string>"):
    """Parses YAML `text` into `MarkedDict`/`MarkedList`/scalars, refusing anything but plain data."""
    _refuse_control_characters(text, file)
    loader = _FAST_LOADER(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError:
            loader.dispose()
            loader = yaml.SafeLoader(text)
            root = _compose_or_explain(loader, file)
        except RecursionError:
            raise SpecError(f"YAML nests deeper than {MAX_DEPTH} levels", mark=Mark(file)) from None
        if root is None:
            raise SpecError("spec file is empty; expected a mapping starting with `kspec: 1`", mark=Mark(file, 1, 1))
        return _Converter(loader, file).convert(root, 0)
    finally:
        loader.dispose()


def _compose_or_explain(loader, file):
    """Composes with PyYAML's own parser, whose syntax errors say what it expected, and adds a hint."""
    try:
        return loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Mark(file, mark.line + 1, mark.column + 1) if mark else Mark(file)
        problem = error.problem or "invalid YAML"
        if error.context:
            problem = f"{error.context}, {problem}"
        hint = _syntax_hint(problem)
        raise SpecError(f"YAML syntax error: {problem}" + (f"; {hint}" if hint else ""), mark=where) from None
    except yaml.YAMLError as error:
        raise SpecError(f"YAML error: {error}", mark=Mark(file)) from None
    except RecursionError:
        raise SpecError(f"YAML nests deeper than {MAX_DEPTH} levels", mark=Mark(file)) from None


class _Converter:
    def __init__(self, loader, file):
        self.loader = loader
        self.file = file
        self.count = 0

    def mark(self, node):
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node, depth):
        self.count += 1
        if self.count > MAX_VALUES:
            raise SpecError(
                f"spec expands to more than {MAX_VALUES} values (aliases expanding exponentially?)", mark=self.mark(node)
            )
        if depth > MAX_DEPTH:
            raise SpecError(f"spec nests deeper than {MAX_DEPTH} levels (recursive alias?)", mark=self.mark(node))
        if node.tag not in _PLAIN_TAGS and node.tag != _TIMESTAMP_TAG:
            raise SpecError(
                f"YAML tag `{node.tag}` is not allowed: specs hold plain data only (mappings, lists, strings, "
                "numbers, booleans, null) and never construct Python objects",
                mark=self.mark(node),
            )
        if isinstance(node, yaml.MappingNode):
            return self.convert_mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            items = MarkedList(mark=self.mark(node))
            for child in node.value:
                items.append(self.convert(child, depth + 1))
                items.item_marks.append(self.mark(child))
            return items
        if node.tag == _TIMESTAMP_TAG:
            return node.value  # a date is just text to kspec
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            raise SpecError(f"invalid value: {getattr(error, 'problem', error)}", mark=self.mark(node)) from None

    def convert_mapping(self, node, depth):
        try:
            self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        except yaml.YAMLError as error:
            raise SpecError(f"invalid merge key: {getattr(error, 'problem', error)}", mark=self.mark(node)) from None
        mapping = MarkedDict(mark=self.mark(node))
        for key_node, value_node in node.value:
            key = self.convert(key_node, depth + 1)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise SpecError("mapping keys must be plain strings or numbers", mark=self.mark(key_node))
            if key in mapping:
                raise SpecError(
                    f"duplicate key `{key}` (first at line {mapping.key_marks[key].line})", mark=self.mark(key_node)
                )
            value = self.convert(value_node, depth + 1)
            mapping.set_marked(key, value, self.mark(key_node), self.mark(value_node))
        return mapping


def load_document(path, overrides=()):
    """Load stage: reads `path`, merges its `extends` chain and applies `overrides` (`"a.b=value"` strings).

    Returns:
        A `MarkedDict` holding the whole spec, with `extends` removed.
    """
    document = _load_with_extends(os.path.abspath(path), str(path), stack=())
    for override in overrides:
        apply_override(document, override)
    return document


def _load_with_extends(abs_path, display, stack):
    if abs_path in stack:
        chain = " -> ".join(os.path.basename(p) for p in (*stack, abs_path))
        raise SpecError(f"`extends` cycle: {chain}", path="extends", mark=Mark(display))
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise SpecError(f"`extends` chain is deeper than {MAX_EXTENDS_DEPTH} files", path="extends", mark=Mark(display))
    document = read_spec_file(display if not stack else abs_path)
    if not isinstance(document, dict):
        raise SpecError(
            f"a spec must be a mapping starting with `kspec: 1`. Received: a {type(document).__name__}",
            mark=getattr(document, "mark", None) or Mark(display, 1, 1),
        )
    if "extends" not in document:
        if "rename" in document:
            raise SpecError("`rename` renames models of the spec named in `extends`; this spec has no `extends`",
                            path="rename", mark=mark_of(document, "rename", of_key=True))
        return document
    renames = document.pop("rename", None)
    renames_mark = document.value_marks.get("rename")
    parents = document.pop("extends")
    mark = mark_of(document, None)
    parent_mark = document.value_marks.get("extends", mark)
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise SpecError(
            f"expected a file name or a list of file names. Received: extends={parents!r}", path="extends", mark=parent_mark
        )
    merged = MarkedDict(mark=document.mark)
    for parent in parents:
        parent_abs = os.path.normpath(os.path.join(os.path.dirname(abs_path), parent))
        if not os.path.isfile(parent_abs):
            raise SpecError(f"cannot find `{parent}` (looked in {os.path.dirname(abs_path)})", path="extends", mark=parent_mark)
        parent_display = os.path.relpath(parent_abs) if not os.path.isabs(display) else parent_abs
        merged = deep_merge(merged, _load_with_extends(parent_abs, parent_display, (*stack, abs_path)))
    if renames is not None:
        rename_models(merged, renames, renames_mark)
    forget_inherited_counts(merged, document)
    return deep_merge(merged, document)


def rename_models(document, renames, mark=None):
    """Renames models of `document` in place: `{old: new}` renames the model, the `{model: old}` nodes that use
    it and its `metadata.parameters` entry (what `rename:` next to `extends:` asks of the parent spec).

    Raises:
        SpecError: `renames` is not a mapping of names, names a model the document lacks, or takes a name in use.
    """
    models = document.get("models")
    if not isinstance(renames, dict) or not all(isinstance(v, str) for v in renames.values()):
        raise SpecError(f"expected a mapping of model names to new names. Received: rename={renames!r}",
                        path="rename", mark=mark)
    models = models if isinstance(models, dict) else {}
    for old, new in renames.items():
        where = {"path": f"rename.{old}", "mark": mark_of(renames, old, of_key=True) or mark}
        if old not in models:
            raise SpecError(f"the extended spec has no model `{old}` (models: {', '.join(models) or 'none'})", **where)
        if new in models and new not in renames:
            raise SpecError(f"cannot rename `{old}` to `{new}`: the extended spec has a model `{new}` already",
                            **where)
    renamed = MarkedDict(mark=getattr(models, "mark", None))
    for name, model in models.items():
        new = renames.get(name, name)
        renamed.set_marked(new, model, mark_of(models, name, of_key=True), mark_of(models, name))
    document["models"] = renamed
    _rename_model_nodes(document, renames)
    parameters = (document.get("metadata") or {}).get("parameters")
    if isinstance(parameters, dict):
        for old, new in renames.items():
            if old in parameters:
                parameters[new] = parameters.pop(old)


def _rename_model_nodes(value, renames):
    if isinstance(value, dict):
        if isinstance(value.get("model"), str) and value["model"] in renames:
            value["model"] = renames[value["model"]]
        for item in value.values():
            _rename_model_nodes(item, renames)
    elif isinstance(value, list):
        for item in value:
            _rename_model_nodes(item, renames)


def deep_merge(base, override):
    """Mappings merge key by key; anything else in `override` replaces `base`. Marks follow the winner."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = MarkedDict(mark=override.mark if isinstance(override, MarkedDict) else getattr(base, "mark", None))
    for source in (base, override):
        for key, value in source.items():
            if key in merged and source is override:
                value = deep_merge(merged[key], value)
            merged.set_marked(key, value, mark_of(source, key, of_key=True), mark_of(source, key))
    return merged


def split_override_path(text):
    """`models.gen.layers[2].units` -> ["models", "gen", "layers", 2, "units"]; `[name]` selects a named item."""
    parts = []
    for token in re.findall(r"\[[^\]]*\]|[^.\[\]]+", text):
        inner = token[1:-1] if token.startswith("[") else token
        if inner.lstrip("-").isdigit():
            parts.append(int(inner))
        else:
            parts.append(("name", inner) if token.startswith("[") else inner)
    return parts


def apply_override(document, override):
    """Applies one `--set key.path=value` to `document` in place. The value is parsed as YAML (`[1, 2]`, `true`)."""
    mark = Mark(f"--set {override}")
    key_text, sep, value_text = override.partition("=")
    if not sep or not key_text.strip():
        raise SpecError(f"expected `--set key.path=value`. Received: {override!r}", mark=Mark("--set"))
    path = split_override_path(key_text.strip())
    if path and path[0] == "extends":
        raise SpecError("`extends` cannot be set with --set: write `extends:` in the spec file", path="extends",
                        mark=mark)
    value = parse_yaml(value_text, f"--set {override}") if value_text.strip() else ""
    node = document
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        shown = key_text.strip()
        if isinstance(key, tuple):  # [name]: the list item whose `name` is that
            if not isinstance(node, list):
                raise SpecError(f"`[{key[1]}]` selects a named list item, but this value is not a list", path=shown, mark=mark)
            matches = [i for i, item in enumerate(node) if isinstance(item, dict) and item.get("name") == key[1]]
            if not matches:
                raise SpecError(f"no list item named `{key[1]}`", path=shown, mark=mark)
            key = matches[0]
        if isinstance(key, int):
            if not isinstance(node, list) or not -len(node) <= key < len(node):
                raise SpecError(f"index {key} is out of range or not a list", path=shown, mark=mark)
            if last:
                node[key] = value
                if isinstance(node, MarkedList):
                    node.item_marks[key] = mark
                return
            node = node[key]
            continue
        if not isinstance(node, dict):
            raise SpecError(f"cannot set `{key}` inside a {type(node).__name__}", path=shown, mark=mark)
        if last:
            if depth and path[depth - 1] == "params" and key not in node:
                raise SpecError(_unknown_param(key, node), path=shown, mark=mark)
            if isinstance(node, MarkedDict):
                node.set_marked(key, value, mark, mark)
            else:
                node[key] = value
            return
        if node.get(key) is None:  # absent, or `flatten:` with no arguments: start a mapping there
            if isinstance(node, MarkedDict):
                node.set_marked(key, MarkedDict(mark=mark), mark, mark)
            else:
                node[key] = {}
        node = node[key]


def _unknown_param(name, params):
    """--set changes params the spec declares; a new one would be silently unused (a misspelling, mostly)."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(p) for p in params], n=1)
    if close:
        hint = f" (did you mean `{close[0]}`?)"
    else:
        hint = "; params here: " + ", ".join(f"`{p}`" for p in params) if params else "; there are none here"
    return f"no param `{name}` to set{hint}"
