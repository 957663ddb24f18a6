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
    with pytest.raises(SpecError, match="no such scores file"):
        compare_score_files(first, tmp_path)  # a directory without scores.json


def test_array_hash_sees_shape_dtype_and_content():
    base = np.zeros((2, 3), "float32")
    assert sha256_of_arrays(base) == sha256_of_arrays(base.copy())
    assert sha256_of_arrays(base) != sha256_of_arrays(base.reshape(3, 2))
    assert sha256_of_arrays(base) != sha256_of_arrays(base.astype("float64"))
    changed = base.copy()
    changed[1, 2] = 1e-7
    assert sha256_of_arrays(base) != sha256_of_arrays(changed)
