import json

import numpy as np
import pytest

from kspec.errors import SpecError
from kspec.metrics.protocol import (
    Protocol,
    attach_protocol,
    compare_score_files,
    read_score_file,
    score_record,
    sha256_of_arrays,
    write_score_file,
)
from kspec.metrics.score import Score

EXTRACTOR = {"extractor": "digits", "extractor_weights_sha256": "a" * 64, "extractor_layer": "dense",
             "resize": "none", "image_size": (28, 28)}


def scored(value, n=1000, n_reference=359, reference="r" * 64, spec="s" * 64, extractor=None, **options):
    score = Score("fd_digits", value, n=n, n_reference=n_reference)
    return attach_protocol(score, extractor or EXTRACTOR, reference, spec, **options)


def write(path, *scores, **where):
    return write_score_file(path, [score_record(score, **where) for score in scores])


def test_protocol_round_trips_through_json():
    protocol = scored(1.0, k=3).protocol
    assert Protocol.from_dict(json.loads(json.dumps(protocol.to_dict()))) == protocol


def test_differences_name_each_field_that_must_agree_and_ignore_the_spec():
    mine = scored(1.0).protocol
    theirs = scored(2.0, n=500, spec="t" * 64, extractor={**EXTRACTOR, "extractor_weights_sha256": "b" * 64}).protocol
    assert mine.differences(theirs) == [("extractor_weights_sha256", "a" * 64, "b" * 64), ("n_generated", 1000, 500)]


def test_compare_pairs_the_latest_score_of_each_name(tmp_path):
    first = write(tmp_path / "a.json", scored(9.0), epoch=0)
    records = read_score_file(first) + [score_record(scored(7.0), epoch=4)]  # a later epoch of the same run
    write_score_file(first, records)
    second = write(tmp_path / "b.json", scored(5.0, spec="t" * 64), checkpoint="last")
    [(name, a, b)] = compare_score_files(first, second)
    assert (name, a["value"], b["value"]) == ("fd_digits", 7.0, 5.0)


def test_compare_refuses_scores_whose_protocols_differ_and_says_which_fields(tmp_path):
    first = write(tmp_path / "a.json", scored(9.0))
    second = write(tmp_path / "b.json", scored(5.0, n=500, reference="q" * 64))
    with pytest.raises(SpecError) as error:
        compare_score_files(first, second)
    assert str(error.value) == (
        f"{second}: `fd_digits` is not comparable: the protocols differ in `n_generated` 1000 vs 500; "
        "`reference_sha256` rrrrrrrrrrrr vs qqqqqqqqqqqq")


def test_compare_needs_a_score_in_common_and_a_scores_file(tmp_path):
    first = write(tmp_path / "a.json", scored(9.0))
    other = Score("kid_digits", 0.1, n=1000, n_reference=359)
    second = write(tmp_path / "b.json", attach_protocol(other, EXTRACTOR, "r" * 64))
    with pytest.raises(SpecError) as error:
        compare_score_files(first, second)
    assert str(error.value) == f"{first} and {second} have no score in common (fd_digits vs kid_digits)"
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(SpecError) as error:
        compare_score_files(first, tmp_path / "c.json")
    assert str(error.value) == (
        f"{tmp_path / 'c.json'}: not a kspec scores file (expected {{\"kspec_scores\": 1, \"scores\": [...]}})")
    with pytest.raises(SpecError) as error:
        compare_score_files(first, tmp_path)  # a directory without scores.json
    assert str(error.value) == (
        f"{tmp_path / 'scores.json'}: no such scores file (`kspec evaluate RUN --output FILE` writes one; runs with "
        "`training.evaluation` write RUN/scores.json)")


def test_array_hash_sees_shape_dtype_and_content():
    base = np.zeros((2, 3), "float32")
    assert sha256_of_arrays(base) == sha256_of_arrays(base.copy())
    assert sha256_of_arrays(base) != sha256_of_arrays(base.reshape(3, 2))
    assert sha256_of_arrays(base) != sha256_of_arrays(base.astype("float64"))
    changed = base.copy()
    changed[1, 2] = 1e-7
    assert sha256_of_arrays(base) != sha256_of_arrays(changed)


def test_to_dict_gives_json_values_and_from_dict_fills_the_optional_fields():
    protocol = scored(1.0, k=3, subsets=2).protocol
    assert protocol.to_dict() == {
        "extractor": "digits", "extractor_weights_sha256": "a" * 64, "extractor_layer": "dense", "resize": "none",
        "image_size": [28, 28], "n_generated": 1000, "n_reference": 359, "reference_sha256": "r" * 64,
        "options": {"k": 3, "subsets": 2}, "spec_sha256": "s" * 64}
    bare = Protocol.from_dict({**EXTRACTOR, "image_size": [28, 28], "n_generated": 10})
    assert bare == Protocol("digits", "a" * 64, "dense", "none", (28, 28), 10)
    assert (bare.n_reference, bare.reference_sha256, bare.options, bare.spec_sha256) == (None, None, (), None)


@pytest.mark.parametrize("values, missing", [
    ({"extractor": "digits", "resize": "none", "image_size": [8, 8], "n_generated": 4},
     "extractor_weights_sha256, extractor_layer"),
    (None, "extractor, extractor_weights_sha256, extractor_layer, resize, image_size, n_generated"),
])
def test_from_dict_names_the_missing_fields_and_where(values, missing):
    with pytest.raises(SpecError) as error:
        Protocol.from_dict(values, "run/scores.json: fd_digits")
    assert str(error.value) == (
        "run/scores.json: fd_digits: expected a score protocol with extractor, extractor_weights_sha256, "
        "extractor_layer, resize, image_size, n_generated, n_reference, reference_sha256, options, spec_sha256. "
        f"Missing: {missing}")


def test_a_score_without_reference_keeps_no_reference_hash_and_describes_none():
    inception = attach_protocol(Score("is_inception", 3.0, n=500), EXTRACTOR, "r" * 64, None, splits=10).protocol
    assert (inception.n_reference, inception.reference_sha256, inception.options) == (None, None, (("splits", 10),))
    assert inception.describe() == ("extractor digits (layer dense, weights aaaaaaaaaaaa), resize none to 28x28, "
                                    "reference none, spec unknown")
    assert scored(1.0).protocol.describe() == ("extractor digits (layer dense, weights aaaaaaaaaaaa), resize none to "
                                               "28x28, reference rrrrrrrrrrrr, spec ssssssssssss")
    with pytest.raises(SpecError, match=r"^scores: expected a score protocol"):  # where, unless told
        Protocol.from_dict({})


def test_score_records_and_the_file_they_are_written_to(tmp_path):
    plain = Score("fd_digits", 2.5, std=0.5, n=10, n_reference=20)
    assert score_record(plain, epoch=3) == {"name": "fd_digits", "value": 2.5, "std": 0.5, "epoch": 3,
                                            "protocol": None}
    path = tmp_path / "new" / "dir" / "scores.json"  # directories are made
    assert write(path, scored(1.5), checkpoint="last") == path
    text = path.read_text()
    assert text.startswith('{\n "kspec_scores": 1,\n "scores": [\n  {\n   "name": "fd_digits",')  # one value a line: diffs read well
    document = json.loads(text)
    assert document == {"kspec_scores": 1, "scores": [score_record(scored(1.5), checkpoint="last")]}
    assert read_score_file(path.parent) == document["scores"]  # a run directory reads its scores.json


@pytest.mark.parametrize("text, message", [
    ("{not json", "cannot read scores (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    ('{"kspec_scores": 1, "scores": {}}', 'not a kspec scores file (expected {"kspec_scores": 1, "scores": [...]})'),
    ('{"kspec_scores": 2, "scores": []}', 'not a kspec scores file (expected {"kspec_scores": 1, "scores": [...]})'),
])
def test_an_unreadable_scores_file_is_one_line_naming_it(tmp_path, text, message):
    path = tmp_path / "scores.json"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        read_score_file(path)
    assert str(error.value) == f"{path}: {message}"


@pytest.mark.parametrize("record, message", [
    ({"value": 1.0}, "a score record needs `name` and `value`. Received: {'value': 1.0}"),
    ({"name": "fd_digits"}, "a score record needs `name` and `value`. Received: {'name': 'fd_digits'}"),
    ({"name": "fd_digits", "value": 1.0, "protocol": None}, "score `fd_digits` has no protocol; it cannot be compared"),
    ({"name": "fd_digits", "value": 1.0, "protocol": {"extractor": "digits"}},
     "fd_digits: expected a score protocol with "),
])
def test_records_that_cannot_be_compared_are_refused_naming_the_file(tmp_path, record, message):
    good = write(tmp_path / "a.json", scored(9.0))
    bad = write_score_file(tmp_path / "b.json", [record])
    for first, second in ((good, bad), (bad, good)):
        with pytest.raises(SpecError) as error:
            compare_score_files(first, second)
        assert str(error.value).startswith(f"{bad}: {message}")


def test_compare_shows_names_quoted_sizes_plainly_and_an_empty_file_as_none(tmp_path):
    first = write(tmp_path / "a.json", scored(9.0))
    resized = scored(5.0, extractor={**EXTRACTOR, "resize": "bilinear", "image_size": (32, 32)})
    second = write(tmp_path / "b.json", resized)
    with pytest.raises(SpecError) as error:
        compare_score_files(first, second)
    assert str(error.value) == (f"{second}: `fd_digits` is not comparable: the protocols differ in `resize` 'none' vs "
                                "'bilinear'; `image_size` (28, 28) vs (32, 32)")
    empty = write_score_file(tmp_path / "c.json", [])
    with pytest.raises(SpecError) as error:
        compare_score_files(empty, first)
    assert str(error.value) == f"{empty} and {first} have no score in common (none vs fd_digits)"
    two = write(tmp_path / "d.json", scored(1.0), attach_protocol(Score("kid_digits", 0.1, n=9, n_reference=9), EXTRACTOR))
    with pytest.raises(SpecError) as error:
        compare_score_files(two, empty)
    assert str(error.value) == f"{two} and {empty} have no score in common (fd_digits, kid_digits vs none)"
    with pytest.raises(SpecError) as error:
        compare_score_files(empty, two)
    assert str(error.value) == f"{empty} and {two} have no score in common (none vs fd_digits, kid_digits)"


def test_file_hash_reads_every_chunk_and_array_hash_reads_arrays_in_order(tmp_path):
    import hashlib

    from kspec.metrics.protocol import sha256_of_file

    path = tmp_path / "weights.bin"
    path.write_bytes(bytes(range(256)) * 5)
    assert sha256_of_file(path, chunk_bytes=100) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sha256_of_file(path) == sha256_of_file(path, chunk_bytes=7)
    a, b = np.arange(6.0).reshape(2, 3), np.ones(2)
    assert sha256_of_arrays(a, b) != sha256_of_arrays(b, a)
    assert sha256_of_arrays(a.T) == sha256_of_arrays(np.ascontiguousarray(a.T))  # values in C order, not memory
    assert sha256_of_arrays(a.T) != sha256_of_arrays(a.reshape(3, 2))
