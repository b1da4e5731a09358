"""The range each scorer's metrics can take, for checking score files
(``vtscale collect-scores``).

- percentages of rows or groups (yes/no, POPE, HallusionBench, MCQ, the VQA accuracies,
  ANLS): 0-100;
- MME: a category's acc and acc+ 0-100, its score acc + acc+ 0-200, the perception and
  cognition sums and Overall up to 200 per category;
- OCRBench: hit counts, from 0 to the rows scored;
- captions: BLEU-1..4 and ROUGE-L (F-measure) 0-100; CIDEr (pycocoevalcap's CIDEr-D:
  per image the mean of n-gram cosines <= 1, times 10, then x100) 0-1000.

Each dataset type names its range (vtscale.eval.dataset_types); a type no scorer here
writes (a VLMEvalKit backend's ``Y/N``, ``VQA``...) has no known range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

MME_SCORE_MAX = 200.0          # acc + acc+ of one category
MME_SUMS = ("perception", "cognition", "Overall")
CIDER_MAX = 1000.0

# A dataset type's range: ``(metric name, all its metrics, rows scored) -> (low, high)``.
MetricRange = Callable[[str, Mapping[str, float], int | None], tuple[float, float]]


def percent_range(name: str, metrics: Mapping[str, float], scored_rows: int | None) -> tuple[float, float]:
    return 0.0, 100.0


def mme_range(name: str, metrics: Mapping[str, float], scored_rows: int | None) -> tuple[float, float]:
    return 0.0, _mme_max(name, metrics)


def caption_range(name: str, metrics: Mapping[str, float], scored_rows: int | None) -> tuple[float, float]:
    return 0.0, CIDER_MAX if name == "CIDEr" else 100.0


def count_range(name: str, metrics: Mapping[str, float], scored_rows: int | None) -> tuple[float, float]:
    """OCRBench's hit counts: at most the rows scored, unbounded where that is not known."""
    return 0.0, float(scored_rows) if scored_rows is not None else float("inf")


def _mme_max(name: str, metrics: Mapping[str, float]) -> float:
    if name.endswith(("/acc", "/acc+")):
        return 100.0
    if name in MME_SUMS:
        categories = sum(key.endswith("/acc") for key in metrics)
        return MME_SCORE_MAX * categories
    return MME_SCORE_MAX
