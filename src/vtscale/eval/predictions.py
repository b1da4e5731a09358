"""``<Bench>.preds.tsv`` (docs/formats.md): one benchmark's answers, columns ``index``
and ``prediction``, written by eval and read back by the baselines."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from vtscale.errors import InputError
from vtscale.eval.benchmark import Benchmark
from vtscale.eval.tsv import as_text, read_frame
from vtscale.io import write_csv

SUFFIX = ".preds.tsv"
COLUMNS = ("index", "prediction")


def predictions_path(folder: str | os.PathLike, bench_name: str) -> Path:
    return Path(folder) / f"{bench_name}{SUFFIX}"


def write_predictions(path: str | os.PathLike, indices: Sequence, predictions: Sequence) -> None:
    # Every text field quoted: a generated answer may hold a bare carriage return, which
    # an unquoted field would turn into a line break for every TSV reader.
    write_csv(path, pd.DataFrame({"index": list(indices), "prediction": list(predictions)}),
              sep="\t", quoting=csv.QUOTE_NONNUMERIC)


def read_predictions(path: Path, bench: Benchmark) -> list[str]:
    """One prediction per scored row of ``bench``, in its order."""
    if not path.is_file():
        raise InputError(f"{path}: predictions file not found")
    frame = read_frame(path)
    for column in COLUMNS:
        if column not in frame.columns:
            raise InputError(f"{path}: missing column {column!r}")
    return predictions_in_row_order(path, list(frame["index"]), list(frame["prediction"]), bench)


def predictions_in_row_order(path: Path, indices: Sequence[str], predictions: Sequence[str],
                             bench: Benchmark) -> list[str]:
    """The predictions read from ``path``, one per scored row of ``bench``, in its order,
    a missing one (empty, "None", "NA"...) as the "nan" VLMEvalKit scores. InputError names ``path`` and the first index predicted twice, not predicted, or
    predicted but not a row of the benchmark."""
    by_index: dict[str, str] = {}
    for index, prediction in zip(indices, predictions):
        if index in by_index:
            raise InputError(f"{path}: index {index} has more than one prediction")
        by_index[index] = prediction
    missing = next((row.index for row in bench.rows if row.index not in by_index), None)
    if missing is not None:
        raise InputError(f"{path}: no prediction for index {missing} of {bench.path}")
    # Skipped rows are rows of the file: a backend that scores every row (VLMEvalKit) predicts them.
    known = {row.index for row in bench.rows} | {row.index for row in bench.skipped}
    extra = next((index for index in by_index if index not in known), None)
    if extra is not None:
        raise InputError(f"{path}: prediction for index {extra}, which is not a row of {bench.path}")
    return [as_text(by_index[row.index]) for row in bench.rows]
