"""`csv`: the user's time series from a CSV file with a header row, windowed for forecasting."""

import csv
import io

from kspec.data.lazy_numpy import np

from kspec.data.arguments import show
from kspec.data.examples import Series
from kspec.registry import DATA_SOURCES


@DATA_SOURCES.register("csv")
def csv_series(args):
    """Numeric columns of a CSV file (one row per time step, oldest first) cut into forecasting windows.

    Args (under `data.args`):
        path: the CSV file; its first row names the columns.
        columns: the column (or list of columns) fed to the model (default: every column).
        target_column: the column to forecast (default: the first of `columns`); must be one of `columns`.
        window: past steps per input (default 48).
        horizon: future steps per target (default 12).
        stride: steps between consecutive windows (default 1).
        delimiter: field separator (default `,`).

    Inputs are `(window, len(columns))`, targets `(horizon,)`. The split is chronological and
    `DataInfo.baselines["naive_last_value_mae"]` holds the naive forecast's validation MAE.

    Example:
    >>> import os, tempfile
    >>> from kspec.data.arguments import SourceArguments
    >>> path = os.path.join(tempfile.mkdtemp(), "load.csv")
    >>> _ = open(path, "w").write("time,load\\n0,1.5\\n1,2.5\\n2,3.5\\n")
    >>> series = csv_series(SourceArguments({"path": path, "columns": "load", "window": 1, "horizon": 1},
    ...                                     source="csv"))
    >>> series.values[:, 0].tolist()
    [1.5, 2.5, 3.5]
    """
    path = args.existing_file("path", what="a CSV file")
    columns = args.strings("columns", default=None)
    target_column = args.string("target_column", default=None)
    window = args.integer("window", default=48, minimum=1)
    horizon = args.integer("horizon", default=12, minimum=1)
    stride = args.integer("stride", default=1, minimum=1)
    delimiter = args.string("delimiter", default=",")
    if len(delimiter) != 1:
        raise args.error("delimiter", f"expected one character. Received: delimiter={show(delimiter)}")
    args.finish()

    rows = _read_rows(args, path, delimiter)
    if not rows:
        raise args.error("path", f"expected a header row naming the columns. Received: {path} is empty")
    header = [name.strip() for name in rows[0]]
    columns = columns or tuple(header)
    for column in columns:
        if column not in header:
            raise args.error("columns", f"expected columns of {path}: {', '.join(show(h) for h in header)}. "
                                        f"Received: columns={show(list(columns))}")
    target_column = target_column or columns[0]
    if target_column not in columns:
        raise args.error("target_column", f"expected one of the columns fed to the model, "
                                          f"{', '.join(show(c) for c in columns)}. "
                                          f"Received: target_column={show(target_column)}")
    indices = [header.index(column) for column in columns]
    values = np.empty((len(rows) - 1, len(columns)), "float32")
    for line, row in enumerate(rows[1:], start=2):
        for position, index in enumerate(indices):
            text = row[index].strip() if index < len(row) else ""
            try:
                values[line - 2, position] = float(text)
            except ValueError:
                raise args.error("path", f"expected numbers in column {show(columns[position])}. Received: "
                                         f"{show(text)} on line {line} of {path}") from None
    return Series(values, window=window, horizon=horizon, target_feature=columns.index(target_column),
                  stride=stride, feature_names=tuple(columns))


def _read_rows(args, path, delimiter):
    """The rows of a UTF-8 CSV file; bytes that are not UTF-8 and malformed rows are errors naming the line."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8-sig")  # -sig: a byte-order mark some editors write is not part of the header
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise args.error("path", f"expected UTF-8 text. Received: byte 0x{data[error.start]:02x} on line {line} of "
                                 f"{path}; save the file as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as error:
        raise args.error("path", f"line {reader.line_num} of {path} is not a CSV row ({error}); check the delimiter "
                                 f"(delimiter={show(delimiter)}) and for a quote that is never closed") from None
