"""`csv`: a series written to tmp_path round-trips into windows; wrong columns and values are named."""

import numpy as np
import pytest

from kspec.data import NAIVE_MAE, load_arrays
from kspec.errors import SpecError


def _write(tmp_path, text):
    path = tmp_path / "series.csv"
    path.write_text(text)
    return str(path)


def test_columns_become_features_and_target_column_the_target(tmp_path):
    rows = "\n".join(f"{t},{t * 1.0},{100 + t}" for t in range(20))
    path = _write(tmp_path, "time,load,temp\n" + rows + "\n")
    config = {"source": "csv", "shuffle": False, "validation_split": 0.25,
              "args": {"path": path, "columns": ["load", "temp"], "target_column": "temp", "window": 4, "horizon": 2}}
    arrays = load_arrays(config)
    assert arrays.info.input_shape == (4, 2) and arrays.info.target_shape == (2,)
    np.testing.assert_array_equal(arrays.train.inputs[0], [[0, 100], [1, 101], [2, 102], [3, 103]])
    np.testing.assert_array_equal(arrays.train.targets[0], [104, 105])
    # 5 validation steps (15..19); the last window ends at 17 and predicts 18, 19.
    np.testing.assert_array_equal(arrays.validation.targets[-1], [118, 119])
    assert arrays.info.baselines[NAIVE_MAE] == 1.5  # a line of slope 1: errors 1 and 2


def test_unknown_column_lists_the_header(tmp_path):
    path = _write(tmp_path, "time,load\n0,1\n")
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "csv", "args": {"path": path, "columns": "lod"}})
    assert str(caught.value) == "data.args.columns: expected columns of " + path + ": 'time', 'load'. Received: columns=['lod']"


def test_target_column_must_be_fed_to_the_model(tmp_path):
    path = _write(tmp_path, "time,load\n0,1\n")
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "csv", "args": {"path": path, "columns": "load", "target_column": "time"}})
    assert str(caught.value) == ("data.args.target_column: expected one of the columns fed to the model, 'load'. "
                                 "Received: target_column='time'")


def test_non_number_names_its_line(tmp_path):
    path = _write(tmp_path, "load\n1\n2\nn/a\n")
    with pytest.raises(SpecError) as caught:
        load_arrays({"source": "csv", "args": {"path": path}})
    assert str(caught.value) == f"data.args.path: expected numbers in column 'load'. Received: 'n/a' on line 4 of {path}"
