"""What a generative score was measured with, and the JSON side file that keeps it next to the numbers.

A FID of 12 means nothing without the network that made the features, how images were resized for it, how many
images were compared, and against which reference set: two FIDs are comparable only when all of these agree.
Every score kspec writes (the metric callbacks' `RUN/scores.json`, `kspec evaluate --output`) carries a
`Protocol`, and `compare_score_files` refuses to compare scores whose protocols differ, naming the fields.

`metrics.csv` and TensorBoard stay numeric: a score's column there (`fd_digits`) is its `name` in the side file.

Side file format (JSON):

    {"kspec_scores": 1,
     "scores": [{"name": "fd_digits", "value": 12.3, "std": null, "epoch": 4, "protocol": {...}}, ...]}

`epoch` is set for scores written during training (the row of `metrics.csv`), `checkpoint` for `kspec evaluate`.
"""

import dataclasses
import hashlib
import json
import os

import numpy as np

from kspec.errors import SpecError

FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Protocol:
    """The conditions a score was measured under.

    Args:
        extractor: extractor name (`digits`, `inception`).
        extractor_weights_sha256: sha256 of the extractor's weights file (of its weight arrays for a model
            built in memory).
        extractor_layer: the layer whose output are the features.
        resize: how images were brought to the extractor's input size: `none` or `bilinear` (no antialiasing).
        image_size: `(height, width)` of the images the extractor sees.
        n_generated: generated images scored.
        n_reference: reference images (or the count behind reference statistics); None without a reference.
        reference_sha256: sha256 of the reference set: of its images, or of the saved statistics it was given
            as; None without a reference (Inception Score) or for a stream that was not hashed.
        options: the metric's own settings that change its value, e.g. `(("k", 3),)`.
        spec_sha256: hash of the run's resolved spec. Provenance only: comparing two models means comparing
            two specs, so it is recorded but never blocks a comparison.
    """

    extractor: str
    extractor_weights_sha256: str
    extractor_layer: str
    resize: str
    image_size: tuple
    n_generated: int
    n_reference: int | None = None
    reference_sha256: str | None = None
    options: tuple = ()
    spec_sha256: str | None = None

    #: Fields that do not have to agree for two scores to be comparable.
    PROVENANCE = ("spec_sha256",)

    def to_dict(self):
        """Plain JSON-ready values (`image_size` a list, `options` a mapping)."""
        values = dataclasses.asdict(self)
        values["image_size"] = list(self.image_size)
        values["options"] = dict(self.options)
        return values

    @classmethod
    def from_dict(cls, values, where="scores"):
        """The inverse of `to_dict`; a `SpecError` naming `where` for a record that is not a protocol."""
        names = [field.name for field in dataclasses.fields(cls)]
        optional = ("options", "spec_sha256", "n_reference", "reference_sha256")
        missing = [name for name in names if name not in optional and name not in (values or {})]
        if not isinstance(values, dict) or missing:
            raise SpecError(f"{where}: expected a score protocol with {', '.join(names)}. Missing: {', '.join(missing)}")
        values = {name: values.get(name) for name in names if name in values}
        values["image_size"] = tuple(values["image_size"])
        values["options"] = tuple(sorted((values.get("options") or {}).items()))
        return cls(**values)

    def differences(self, other):
        """`[(field, mine, theirs)]` for every field that must agree for comparison and does not."""
        return [
            (field.name, getattr(self, field.name), getattr(other, field.name))
            for field in dataclasses.fields(self)
            if field.name not in self.PROVENANCE and getattr(self, field.name) != getattr(other, field.name)
        ]

    def describe(self):
        """One line for people: the extractor, resize, reference and spec (counts and options are the score's).

        Example:
        >>> Protocol("digits", "1a2b" * 16, "dense", "none", (28, 28), 1000, 359, "9f8e" * 16).describe()
        'extractor digits (layer dense, weights 1a2b1a2b1a2b), resize none to 28x28, reference 9f8e9f8e9f8e, spec unknown'
        """
        return (f"extractor {self.extractor} (layer {self.extractor_layer}, weights "
                f"{_short(self.extractor_weights_sha256)}), resize {self.resize} to "
                f"{'x'.join(map(str, self.image_size))}, reference "
                f"{_short(self.reference_sha256) if self.n_reference is not None else 'none'}, "
                f"spec {_short(self.spec_sha256)}")


def attach_protocol(score, extractor_protocol, reference_sha256=None, spec_sha256=None, **options):
    """`score` with its `Protocol`: the extractor's part (`extractor.protocol()`), the counts from the score.

    Example:
    >>> from kspec.metrics.score import Score
    >>> extractor = {"extractor": "toy", "extractor_weights_sha256": "ab" * 32, "extractor_layer": "dense",
    ...              "resize": "none", "image_size": (8, 8)}
    >>> attach_protocol(Score("kid_toy", 0.1, n=10, n_reference=20), extractor, subsets=5).protocol.options
    (('subsets', 5),)
    """
    protocol = Protocol(**extractor_protocol, n_generated=score.n, n_reference=score.n_reference,
                        reference_sha256=reference_sha256 if score.n_reference is not None else None,
                        options=tuple(sorted(options.items())), spec_sha256=spec_sha256)
    return dataclasses.replace(score, protocol=protocol)


def sha256_of_file(path, chunk_bytes=2**20):
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of_arrays(*arrays):
    """Hex sha256 of arrays' shapes, dtypes and bytes (C order): equal arrays, equal hash."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(np.asarray(array))
        digest.update(f"{array.shape}{array.dtype.str}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def score_record(score, **where):
    """The side file's entry for one `Score` (`where`: `epoch=4`, or `checkpoint="last"`, ...)."""
    record = {"name": score.name, "value": score.value, "std": score.std, **where}
    record["protocol"] = score.protocol.to_dict() if score.protocol is not None else None
    return record


def write_score_file(path, records):
    """Writes `records` (from `score_record`) to `path` as the side file, atomically."""
    from kspec.training.run_directory import write_atomic

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    write_atomic(path, json.dumps({"kspec_scores": FORMAT_VERSION, "scores": records}, indent=1) + "\n")
    return path


def read_score_file(path):
    """The records of a side file (or of `RUN/scores.json` when `path` is a run directory)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "scores.json")
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such scores file (`kspec evaluate RUN --output FILE` writes one; runs with "
                        "`training.evaluation` write RUN/scores.json)") from None
    except (OSError, ValueError) as error:
        raise SpecError(f"{path}: cannot read scores ({error})") from None
    if not isinstance(document, dict) or document.get("kspec_scores") != FORMAT_VERSION or not isinstance(
            document.get("scores"), list):
        raise SpecError(f"{path}: not a kspec scores file (expected {{\"kspec_scores\": {FORMAT_VERSION}, "
                        "\"scores\": [...]})")
    return document["scores"]


def latest_scores(records, where):
    """The last record of each score name (the latest epoch of a training run), with its `Protocol`."""
    latest = {}
    for record in records:
        if not isinstance(record, dict) or "name" not in record or "value" not in record:
            raise SpecError(f"{where}: a score record needs `name` and `value`. Received: {record!r}")
        if record.get("protocol") is None:
            raise SpecError(f"{where}: score `{record['name']}` has no protocol; it cannot be compared")
        latest[record["name"]] = record
    return {name: (record, Protocol.from_dict(record["protocol"], f"{where}: {name}")) for name, record in latest.items()}


def compare_score_files(first, second):
    """Pairs the scores two side files (or runs) have in common, refusing pairs whose protocols differ.

    Args:
        first, second: paths of score files, or run directories holding `scores.json`.

    Returns:
        `[(name, first_record, second_record)]` in the first file's order.

    Raises:
        SpecError: one problem per score whose protocols differ, naming each differing field with both values;
            or no score name in common.
    """
    from kspec.errors import Problem

    mine, theirs = latest_scores(read_score_file(first), first), latest_scores(read_score_file(second), second)
    common = [name for name in mine if name in theirs]
    if not common:
        raise SpecError(f"{first} and {second} have no score in common ({', '.join(mine) or 'none'} vs "
                        f"{', '.join(theirs) or 'none'})")
    problems = []
    for name in common:
        differences = mine[name][1].differences(theirs[name][1])
        if differences:
            fields = "; ".join(f"`{field}` {_shown(a)} vs {_shown(b)}" for field, a, b in differences)
            problems.append(Problem(f"`{name}` is not comparable: the protocols differ in {fields}", path=str(second)))
    if problems:
        raise SpecError(problems)
    return [(name, mine[name][0], theirs[name][0]) for name in common]


def _short(digest):
    return digest[:12] if digest else "unknown"


def _shown(value):
    """A hash by its first 12 digits; anything else as Python writes it (names quoted, sizes as tuples)."""
    if isinstance(value, str) and len(value) == 64:
        return _short(value)
    return repr(value)
