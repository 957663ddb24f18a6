"""Spec data that remembers where it came from.

The loader turns YAML into `MarkedDict`/`MarkedList`: plain `dict`/`list` subclasses (so JSON Schema and
ordinary code see plain data) that also keep the `Mark` of every key and value. Every later stage can then
point a message at `file:line:col`, even after `extends` merges and `--set` overrides moved values around.
"""


class MarkedDict(dict):
    """A dict with the position of itself, of each key and of each value."""

    def __init__(self, *args, mark=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.mark = mark
        self.key_marks = {}
        self.value_marks = {}

    def set_marked(self, key, value, key_mark=None, value_mark=None):
        self[key] = value
        if key_mark is not None:
            self.key_marks[key] = key_mark
        if value_mark is not None:
            self.value_marks[key] = value_mark


class MarkedList(list):
    """A list with the position of itself and of each item."""

    def __init__(self, *args, mark=None):
        super().__init__(*args)
        self.mark = mark
        self.item_marks = []


def mark_of(container, key=None, *, of_key=False):
    """Position of `container[key]` (or of the key itself with `of_key`), else of the container."""
    if key is not None:
        if isinstance(container, MarkedDict):
            marks = container.key_marks if of_key else container.value_marks
            if key in marks:
                return marks[key]
        elif isinstance(container, MarkedList) and isinstance(key, int) and 0 <= key < len(container.item_marks):
            return container.item_marks[key]
    return getattr(container, "mark", None)


def mark_at(root, path, *, of_key=False):
    """Position of the value at `path` (a sequence of keys and indices) below `root`, or the nearest parent's."""
    node, best = root, getattr(root, "mark", None)
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        found = mark_of(node, key, of_key=of_key and last)
        if found is not None and found is not getattr(node, "mark", None):
            best = found
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return best


def format_path(root, path):
    """Dotted spec path such as `models.unet.layers[down2].filters`.

    List items are named by their `name` when they have one (as cfgv does), else by their index.
    """
    text, node = "", root
    for key in path:
        if isinstance(key, int):
            item = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            templated = isinstance(name, str) and "${" in name
            text += f"[{name}]" if isinstance(name, str) and name and not templated else f"[{key}]"
        else:
            text += f".{key}" if text else str(key)
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
    return text


def plain(value):
    """A copy of `value` made of plain dicts and lists (for JSON output and hashing)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
