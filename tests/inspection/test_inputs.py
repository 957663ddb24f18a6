"""Reading new inputs for a run: npz, csv rows, image directories, scaled with the run's normalization."""

import numpy as np
import pytest
from PIL import Image

from kspec.data.normalization import Normalization
from kspec.errors import SpecError
from kspec.inspection.inputs import read_inputs
from kspec.training.data_facts import DataFacts


def facts(shape, normalization, source="npz", task="classification"):
    return DataFacts(source, task, shape, "float32", 2, ("a", "b"), normalization)


def test_feature_rows_of_a_csv_are_examples(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("height,weight\n1.5,60\n2.0,80\n")
    inputs = read_inputs(path, facts((2,), Normalization("standardize", (1.0, 50.0), (0.5, 10.0))), {"source": "npz"})
    assert inputs.names == ["line 2", "line 3"]
    np.testing.assert_allclose(inputs.raw, [[1.5, 60], [2.0, 80]])
    np.testing.assert_allclose(inputs.normalized, [[1.0, 1.0], [2.0, 3.0]])


def test_images_of_another_source_are_mapped_onto_its_raw_range(tmp_path):
    Image.fromarray(np.full((6, 6), 255, "uint8")).save(tmp_path / "white.png")
    Image.fromarray(np.zeros((6, 6), "uint8")).save(tmp_path / "black.png")
    symmetric = Normalization("symmetric", (8.0,), (8.0,))  # raw range 0..16 -> [-1, 1]
    inputs = read_inputs(tmp_path, facts((3, 3, 1), symmetric, source="digits"), {"source": "digits"})
    assert inputs.names == ["black.png", "white.png"] and inputs.raw.shape == (2, 3, 3, 1)
    np.testing.assert_allclose(inputs.raw[:, 0, 0, 0], [0.0, 16.0])
    np.testing.assert_allclose(inputs.normalized[:, 0, 0, 0], [-1.0, 1.0])


@pytest.mark.parametrize("name, content, shape, message", [
    ("a.csv", "x,y\n1,oops\n", (2,), "expected numbers in column 'y'. Received: 'oops' on line 2 of {path}"),
    ("a.csv", "x\n1\n", (2,), "expected examples of shape (2,), the run's inputs. Received: rows of shape (1, 1)"),
    ("images", None, (4,), "expected a .npz or .csv file for inputs of shape (4,); a directory holds images"),
    ("empty", None, (3, 3, 1), "expected image files (.bmp, .gif, .jpeg, .jpg, .png) below the directory. "
                               "Received: none"),
    ("missing.npz", False, (2,), "expected a .npz file, a .csv file or a directory of images. Received: no such "
                                 "file or directory"),
])
def test_unreadable_inputs_name_the_file(tmp_path, name, content, shape, message):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif content:
        path.write_text(content)
    with pytest.raises(SpecError) as error:
        read_inputs(path, facts(shape, Normalization("none")), {"source": "npz"})
    assert str(error.value) == f"{path}: --input: {message.format(path=path)}"


def test_standardized_images_cannot_be_given_as_files(tmp_path):
    Image.fromarray(np.zeros((3, 3), "uint8")).save(tmp_path / "a.png")
    standardize = Normalization("standardize", (0.3,), (0.2,))
    with pytest.raises(SpecError) as error:
        read_inputs(tmp_path, facts((3, 3, 1), standardize, source="mnist"), {"source": "mnist"})
    assert str(error.value) == (f"{tmp_path}: --input: cannot map image files onto the value range of the run's "
                                "`mnist` data (normalize: standardize); give the examples as raw arrays in a .npz file")
