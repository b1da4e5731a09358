"""The stage-2 gate: does generation training teach every question kind? Every
``probe_every`` steps, first-answer-token accuracy per question kind on the questions
of held-out images (never trained on), against the better of two image-blind
baselines on the same questions: the kind's most frequent training answer, and the
most frequent training answer to the same question text. Target: at least 10 points
above that baseline on the existence, colour and word kinds."""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch

from vtscale.data.conversations import Record
from vtscale.data.question_kinds import accuracy_by_kind, question_kind
from vtscale.train.gate_curve import GateCurve
from vtscale.train.gates import Figure, Gate

log = logging.getLogger(__name__)

GATED_KINDS = ("existence", "color", "color_yn", "word", "word_yn")
MARGIN = 0.10
PROBE_KINDS = ("existence", "color_yn", "count_yn", "word_yn", "count", "color", "word", "mcq")


def split_by_image(records: list[Record], held_out: int, seed: int) -> tuple[list[Record], list[Record]]:
    """(training, held-out) records: every record of ``held_out`` seeded images is held out."""
    images = sorted({r.image for r in records})
    chosen = set(random.Random(seed).sample(images, min(held_out, len(images) - 1)))
    return [r for r in records if r.image not in chosen], [r for r in records if r.image in chosen]


def single_turns(records: list[Record], kinds: tuple[str, ...] | None = PROBE_KINDS) -> list[Record]:
    """One record per question (of ``kinds``; None: every question), each asked as
    benchmarks ask it: as a first question."""
    return [Record(f"{r.id}#{k}", r.image, [turn]) for r in records for k, turn in enumerate(r.turns)
            if kinds is None or question_kind(turn.question) in kinds]


def first_question_kind(record: Record) -> str:
    return question_kind(record.turns[0].question)


@dataclass
class BlindBaselines:
    by_kind: dict[str, str]          # kind -> most frequent training answer
    by_question: dict[str, str]      # question text -> most frequent training answer

    @classmethod
    def fit(cls, records: list[Record]) -> "BlindBaselines":
        kinds, questions = defaultdict(Counter), defaultdict(Counter)
        for record in records:
            for turn in record.turns:
                kinds[question_kind(turn.question)][turn.answer] += 1
                questions[turn.question][turn.answer] += 1
        return cls({k: c.most_common(1)[0][0] for k, c in kinds.items()},
                   {q: c.most_common(1)[0][0] for q, c in questions.items()})

    def accuracy(self, probe: list[Record]) -> dict[str, float]:
        """Per kind, the better of the two baselines' exact-answer accuracy."""
        majority, alone, total = Counter(), Counter(), Counter()
        for record in probe:
            turn = record.turns[0]
            kind = question_kind(turn.question)
            total[kind] += 1
            majority[kind] += self.by_kind.get(kind) == turn.answer
            alone[kind] += self.by_question.get(turn.question, self.by_kind.get(kind)) == turn.answer
        return {k: max(majority[k], alone[k]) / total[k] for k in total}


@torch.no_grad()
def first_token_accuracy(model, collate, probe: list[Record], batch_size: int = 64) -> dict[str, float]:
    """Per kind: how often the argmax at the first answer position is the answer's first token."""
    was_training = model.training
    model.eval()
    hits: list[bool] = []
    for start in range(0, len(probe), batch_size):
        logits, targets, keep = model.answer_logits(collate(probe[start:start + batch_size]))
        counts = keep.sum(1)
        first = counts.cumsum(0) - counts
        hits += (logits[first].argmax(-1) == targets[first]).tolist()
    model.train(was_training)
    return accuracy_by_kind(map(first_question_kind, probe), hits)


class Stage2Probe:
    """The held-out check as a loop hook: a curve point every ``every`` steps (kept in
    ``folder`` across a resume, vtscale.train.gate_curve), the gate at the end."""

    def __init__(self, model, collate, probe: list[Record], baselines: dict[str, float], every: int,
                 folder: str | Path):
        self.model, self.collate, self.probe, self.baselines = model, collate, probe, baselines
        self.curve = GateCurve(self.logged_measure, every, folder)

    def __call__(self, step: int, row: dict) -> None:
        self.curve(step, row)

    def measure(self) -> dict[str, float]:
        return first_token_accuracy(self.model, self.collate, self.probe)

    def logged_measure(self) -> dict[str, float]:
        accuracy = self.measure()
        log.info("held-out first-answer-token accuracy: %s",
                 ", ".join(f"{k} {v:.2f}" for k, v in accuracy.items()))
        return accuracy

    def gate(self) -> Gate:
        accuracy = self.measure()
        figures = {}
        for kind, value in accuracy.items():
            baseline = self.baselines.get(kind, float("nan"))
            target = baseline + MARGIN if kind in GATED_KINDS else None
            figures[kind] = Figure(value, None if target is None else round(target, 4))
            figures[f"{kind}_blind"] = Figure(baseline)
        note = (f"first-answer-token accuracy on {len(self.probe)} questions of held-out images; "
                f"<kind>_blind: the better image-blind baseline; target: {MARGIN:.2f} above it")
        return Gate("stage2", figures, self.curve.points(), note)
