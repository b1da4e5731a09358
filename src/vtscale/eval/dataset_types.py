"""Every benchmark (dataset) type in one place: the columns it reads, how its answers read,
its prompt and generation length, its scorers and standard error, and what the report and
the VLMEvalKit backend need to know of it. A new type is one ``DatasetType`` added to
``DATASET_TYPES``; everything else looks types up here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vtscale.eval import answers, prompt_forms, standard_errors
from vtscale.eval.benchmark import HALLUSION_IDS, Row
from vtscale.eval.metrics import caption, mcq, per_row, ranges, vqa, yorn
from vtscale.eval.rules import LATEST

Scorer = Callable[..., dict[str, float]]    # (rows, predictions or hits, rules=) -> {metric: value}

# The authors' generation lengths (their adjust_kwargs): 32 for yes/no, MCQ and captions, 10 for
# TextVQA, 100 for OCRVQA/ChartQA/DocVQA, 512 otherwise. Their 3-token branch for "seedbench"
# never fires: the SEEDBench sets are MCQ, caught by the first branch, and VLMEvalKit's
# listinstr is case-sensitive, so "seedbench" is not in "SEEDBench2". SEEDBench gets 32.
DEFAULT_MAX_NEW_TOKENS = 512
QUESTION_COLUMNS = ("index", "image", "question", "answer")


@dataclass(frozen=True)
class DatasetType:
    name: str
    scorer: Scorer
    row_scorer: per_row.RowsScorer                 # each row's score, for ``vtscale score --rows``
    prompt: Callable[[Row, str], str]              # (row, rules) -> the prompt sent
    parse_answer: Callable[[str], answers.Parsed]  # the answer cell -> (answers, why not)
    columns: tuple[str, ...] = QUESTION_COLUMNS    # required ("image" only where images are read)
    options: bool = False                          # lettered options A, B...: the answer is one
    ids_from_index: tuple[str, ...] = ()           # from index parts 3, 4... where the TSV lacks them
    # Columns that mark a TSV of this type where the config names none: the first type in
    # DATASET_TYPES whose test passes is taken.
    detect: Callable[[set[str]], bool] | None = None
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    circular_scorer: Scorer | None = None          # per question over its option shifts (MMBench)
    # The standard error's closed form; None: a bootstrap over images (uncertainty.py),
    # its draws scored from per-row yes/no hits (hit_scorer) or, for Overall, by
    # overall_draws where given; where Overall averages overall_terms scores, one of them
    # the accuracy, the error is at least that term's.
    standard_error: standard_errors.ClosedForm | None = None
    hit_scorer: Scorer | None = None
    overall_draws: standard_errors.DrawScorer | None = None
    overall_terms: int | None = None
    metric_range: ranges.MetricRange | None = None  # None: no known range
    headline_text: str | None = None               # the headline metric in words (the demo table)
    reads_text: bool = False                       # a text-reading benchmark (the report's finding 2)
    vlmevalkit_type: str | None = None             # VLMEvalKit's dataset type that is this one,
    vlmevalkit_name: str | None = None             # or a part of its dataset names (lower case)

    def score(self, rows: Sequence[Row], predictions: Sequence, rules: str = LATEST,
              circular: bool = False) -> dict[str, float]:
        scorer = self.circular_scorer if circular else self.scorer
        return scorer(rows, predictions, rules=rules)


YES_NO = dict(parse_answer=answers.yes_or_no, prompt=prompt_forms.yes_no_prompt,
              row_scorer=per_row.each_row(per_row.yes_no_row), max_new_tokens=32)
SHORT_ANSWER = dict(parse_answer=answers.one_or_a_list, prompt=prompt_forms.short_answer_prompt,
                    standard_error=standard_errors.binomial, metric_range=ranges.percent_range,
                    reads_text=True)

DATASET_TYPES: dict[str, DatasetType] = {kind.name: kind for kind in (
    DatasetType("yorn", yorn.yorn_scores, **YES_NO, standard_error=standard_errors.binomial,
                metric_range=ranges.percent_range, headline_text="accuracy", vlmevalkit_type="Y/N"),
    DatasetType("pope", yorn.pope_scores, **YES_NO, overall_draws=standard_errors.pope_overall_draws,
                metric_range=ranges.percent_range, headline_text="F1"),
    DatasetType("mme", yorn.mme_scores, **YES_NO, hit_scorer=yorn.mme_scores_from_hits,
                metric_range=ranges.mme_range, headline_text="acc + acc+"),
    DatasetType("hallusionbench", yorn.hallusion_scores, **YES_NO, ids_from_index=HALLUSION_IDS,
                detect=lambda columns: set(HALLUSION_IDS) <= columns,
                hit_scorer=yorn.hallusion_scores_from_hits, overall_terms=3,  # (aAcc + fAcc + qAcc) / 3
                metric_range=ranges.percent_range, headline_text="mean of aAcc, fAcc, qAcc"),
    DatasetType("mcq", mcq.mcq_scores, per_row.each_row(per_row.mcq_row),
                prompt_forms.multiple_choice_prompt, answers.one_answer,
                columns=(*QUESTION_COLUMNS, "A", "B"), options=True,
                detect=lambda columns: {"A", "B"} <= columns, max_new_tokens=32,
                circular_scorer=mcq.circular_mcq_scores, standard_error=standard_errors.binomial,
                metric_range=ranges.percent_range, headline_text="accuracy", vlmevalkit_type="MCQ"),
    DatasetType("textvqa", vqa.textvqa_scores, per_row.each_row(per_row.textvqa_row), **SHORT_ANSWER,
                detect=lambda columns: "question" in columns, max_new_tokens=10,
                headline_text="VQA accuracy", vlmevalkit_name="textvqa"),
    DatasetType("chartqa", vqa.chartqa_scores, per_row.each_row(per_row.chartqa_row), **SHORT_ANSWER,
                max_new_tokens=100, headline_text="relaxed accuracy", vlmevalkit_name="chartqa"),
    DatasetType("ocrvqa", vqa.ocrvqa_scores, per_row.each_row(per_row.ocrvqa_row), **SHORT_ANSWER,
                max_new_tokens=100, headline_text="exact match", vlmevalkit_name="ocrvqa"),
    DatasetType("ocrbench", vqa.ocrbench_scores, per_row.each_row(per_row.ocrbench_row),
                prompt_forms.bare_question, answers.one_or_a_list, metric_range=ranges.count_range,
                headline_text="final score", reads_text=True, vlmevalkit_name="ocrbench"),
    DatasetType("docvqa", vqa.docvqa_scores, per_row.each_row(per_row.docvqa_row), **SHORT_ANSWER,
                max_new_tokens=100, headline_text="ANLS", vlmevalkit_name="docvqa"),
    # VLMEvalKit supplies the caption prompt: the TSV has no question.
    DatasetType("caption", caption.caption_scores, per_row.caption_rows, prompt_forms.caption_prompt,
                answers.reference_list, columns=("index", "image", "answer"),
                detect=lambda columns: "question" not in columns, max_new_tokens=32,
                standard_error=standard_errors.per_image_cider, metric_range=ranges.caption_range,
                headline_text="CIDEr", vlmevalkit_type="Caption", vlmevalkit_name="coco"),
)}


def circular_types() -> list[str]:
    """The types that can be scored by circular groups (MMBench's option shifts)."""
    return [name for name, kind in DATASET_TYPES.items() if kind.circular_scorer]
