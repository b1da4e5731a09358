"""COCO caption metrics through pycocoevalcap on raw strings (no PTB tokenizer, no Java)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

from vtscale.eval.benchmark import Row
from vtscale.eval.rules import LATEST


def _coco_inputs(rows: Sequence[Row], preds: Sequence[str]) -> tuple[dict, dict]:
    references = {str(i): list(r.answers) for i, r in enumerate(rows)}
    candidates = {str(i): [str(p)] for i, p in enumerate(preds)}
    return references, candidates


def cider_per_image(rows: Sequence[Row], preds: Sequence[str]) -> list[float]:
    """Each image's CIDEr (document frequencies from the whole set); CIDEr is their mean."""
    with contextlib.redirect_stdout(io.StringIO()):
        _, per_image = Cider().compute_score(*_coco_inputs(rows, preds))
    return [float(v) for v in per_image]


def caption_scores(rows: Sequence[Row], preds: Sequence[str], rules: str = LATEST) -> dict[str, float]:
    """BLEU-1..4, ROUGE-L and CIDEr (x100) of the raw prediction against the reference
    list; the same under every rule set (VLMEvalKit scored captions so at 0ff0c3e too)."""
    if not rows:
        return {}
    references, candidates = _coco_inputs(rows, preds)
    metrics = {}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocoevalcap prints progress
        bleu, _ = Bleu(4).compute_score(references, candidates)
        rouge, _ = Rouge().compute_score(references, candidates)
        cider, _ = Cider().compute_score(references, candidates)
    for k, value in enumerate(bleu, start=1):
        metrics[f"Bleu_{k}"] = float(value) * 100
    metrics["ROUGE_L"] = float(rouge) * 100
    metrics["CIDEr"] = float(cider) * 100
    return metrics
