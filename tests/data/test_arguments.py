"""SourceArguments: every reader names the argument, what it expected and what it received."""

import pytest

from kspec.data.arguments import SourceArguments
from kspec.errors import SpecError


def _args(**values):
    return SourceArguments(values, source="demo")


@pytest.mark.parametrize("read, values, message", [
    (lambda a: a.integer("count", 3, minimum=1), {"count": 0},
     "data.args.count: expected a positive integer. Received: count=0"),
    (lambda a: a.integer("count", 3, minimum=1), {"count": 2.5},
     "data.args.count: expected a positive integer. Received: count=2.5"),
    (lambda a: a.number("noise", 0.1, minimum=0), {"noise": -1},
     "data.args.noise: expected a number of at least 0. Received: noise=-1"),
    (lambda a: a.number("std", 0.1, above=0), {"std": "big"},
     "data.args.std: expected a positive number. Received: std='big'"),
    (lambda a: a.numbers("value_range", None, length=2), {"value_range": [0, 1, 2]},
     "data.args.value_range: expected a list of 2 numbers. Received: value_range=[0, 1, 2]"),
    (lambda a: a.boolean("flag", False), {"flag": "yes"},
     "data.args.flag: expected true or false. Received: flag='yes'"),
    (lambda a: a.choice("target", ("labels", "none"), "labels"), {"target": "label"},
     "data.args.target: expected one of 'labels', 'none'. Received: target='label' (did you mean 'labels'?)"),
    (lambda a: a.size("size", 8), {"size": [28, 28, 1]},
     "data.args.size: expected a positive integer or a list of two ([height, width]). Received: size=[28, 28, 1]"),
    (lambda a: a.strings("columns", None), {"columns": [1, 2]},
     "data.args.columns: expected a string or a list of strings. Received: columns=[1, 2]"),
    (lambda a: a.existing_file("path", what="a CSV file"), {},
     "data.args: source `demo` needs argument `path`: the path of a CSV file"),
])
def test_reader_rejects_wrong_value_with_whole_message(read, values, message):
    with pytest.raises(SpecError) as caught:
        read(_args(**values))
    assert str(caught.value) == message


def test_missing_file_says_it_does_not_exist(tmp_path):
    missing = str(tmp_path / "absent.npz")
    with pytest.raises(SpecError) as caught:
        _args(path=missing).existing_file("path", what="a .npz file")
    assert str(caught.value) == f"data.args.path: expected the path of a .npz file. Received: path='{missing}', which does not exist"


def test_directory_given_for_a_file_is_named_as_such(tmp_path):
    with pytest.raises(SpecError) as caught:
        _args(path=str(tmp_path)).existing_file("path", what="a CSV file")
    assert str(caught.value).endswith(f"Received: path='{tmp_path}', which is a directory")


def test_finish_refuses_unread_argument_with_closest_name():
    args = _args(sise=28)
    assert args.size("size", 8) == (8, 8)
    args.integer("limit", None)
    with pytest.raises(SpecError) as caught:
        args.finish()
    assert str(caught.value) == ("data.args.sise: source `demo` has no argument `sise` (did you mean `size`?); "
                                 "its arguments are `limit`, `size`")


def test_null_means_default_and_nullable_string_keeps_null():
    args = _args(size=None, y_key=None)
    assert args.size("size", 8) == (8, 8)
    assert args.string("y_key", "y", nullable=True) is None
    args.finish()


def test_error_carries_the_mark_of_a_loaded_value():
    from kspec.builder.document import MarkedDict
    from kspec.errors import Mark

    values = MarkedDict(mark=Mark("spec.yaml", 3, 5))
    values.set_marked("size", 0, value_mark=Mark("spec.yaml", 4, 11))
    with pytest.raises(SpecError) as caught:
        SourceArguments(values, source="digits").size("size", 8)
    assert str(caught.value).startswith("spec.yaml:4:11: data.args.size: expected")
