"""Reading the tidy scores table (``variant, benchmark, metric, n, m, score, se``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vtscale.errors import InputError
from vtscale.eval.metrics import headline_metric

REQUIRED_COLUMNS = ("variant", "benchmark", "metric", "n", "score")


def read_scores(path: str | Path) -> pd.DataFrame:
    """Load a tidy scores CSV; InputError names the file and the missing or bad column."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: scores file not found")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a readable CSV ({err})") from None
    for column in REQUIRED_COLUMNS:
        if column not in frame.columns:
            raise InputError(f"{path}: missing column {column!r}")
    if "se" not in frame.columns:   # optional: a hand-made table may give none
        frame["se"] = float("nan")
    for column in ("n", "score", "se"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = int(bad.idxmax())
            raise InputError(f"{path}: row {row + 2}: column {column!r} is not a number "
                             f"({frame[column][row]!r})")
        frame[column] = values
    frame["n"] = frame["n"].astype(int)
    for column in ("variant", "benchmark", "metric"):
        frame[column] = frame[column].astype(str)
    return frame


def main_metric_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the rows of each benchmark's headline metric."""
    keep = {bench: headline_metric(list(dict.fromkeys(group["metric"])))
            for bench, group in frame.groupby("benchmark", sort=False)}
    return frame[frame["metric"] == frame["benchmark"].map(keep)]
