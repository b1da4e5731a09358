"""Where diagnostics write: their own files, never the pipeline's score files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vtscale.errors import InputError
from vtscale.io import write_json

# what `vtscale eval` and `vtscale collect-scores` write (docs/formats.md)
PIPELINE_SCORE_FILES = ("scores.csv", "answers.csv")
PIPELINE_SCORE_SUFFIXES = (".scores.json", ".preds.tsv")


def check_out(path: Path) -> None:
    if path.name in PIPELINE_SCORE_FILES or path.name.endswith(PIPELINE_SCORE_SUFFIXES):
        raise InputError(f"--out {path}: a pipeline score file; diagnostics write their own files")


def beside(path: Path, suffix: str) -> Path:
    """probe.json -> probe.metrics.csv (for suffix '.metrics.csv')."""
    check_out(path)
    return path.with_suffix(suffix)


def write_result(path: Path, result: Any) -> None:
    check_out(path)
    write_json(path, result)
