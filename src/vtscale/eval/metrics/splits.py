"""Scores per value of a TSV's ``split`` column, as VLMEvalKit (0ff0c3e and today) reports
them: a VQA score per split beside Overall (``ImageVQADataset.evaluate``), one MCQ row per
split (``report_acc``), which ``vlmevalkit.flatten_result`` names ``<split>/<column>``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from vtscale.eval.benchmark import Row


def has_splits(rows: Sequence[Row]) -> bool:
    """Whether the TSV had a ``split`` column (then VLMEvalKit reports per split)."""
    return any(row.split is not None for row in rows)


def split_positions(rows: Sequence[Row]) -> dict[str, list[int]]:
    """Split name -> positions of its rows, sorted by name. A row whose split cell is
    missing belongs to none (VLMEvalKit's score of that group is NaN, left out)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for pos, row in enumerate(rows):
        if row.split:
            groups[row.split].append(pos)
    return dict(sorted(groups.items()))


def split_key(split: str, column: str) -> str:
    """The metric name of one cell of VLMEvalKit's per-split table."""
    return f"{split}/{column}"
