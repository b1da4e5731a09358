"""Rule-based scorers, one per dataset type: ``score(rows, predictions) -> {metric: value}``."""

from vtscale.eval.metrics.caption import caption_scores
from vtscale.eval.metrics.mcq import mcq_scores
from vtscale.eval.metrics.vqa import (chartqa_scores, docvqa_scores, ocrbench_scores,
                                      ocrvqa_scores, textvqa_scores)
from vtscale.eval.metrics.yorn import hallusion_scores, mme_scores, pope_scores, yorn_scores

SCORERS = {
    "yorn": yorn_scores, "pope": pope_scores, "mme": mme_scores,
    "hallusionbench": hallusion_scores, "mcq": mcq_scores, "textvqa": textvqa_scores,
    "chartqa": chartqa_scores, "ocrvqa": ocrvqa_scores, "docvqa": docvqa_scores,
    "ocrbench": ocrbench_scores, "caption": caption_scores,
}


def score(type_: str, rows, predictions) -> dict[str, float]:
    return SCORERS[type_](rows, predictions)
