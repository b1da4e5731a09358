"""The LLM gate: does the demo's LLM answer from what its context says? On held-out
scenes, the first answer token of each question is scored with the scene's structured
line (vtscale.data.scene_text) in the slot where the fused tokens go, with its natural
description there, and with nothing there (image-blind), per question kind
(vtscale.data.question_kinds). Targets: 0.90 on every yes/no kind and 0.80 on colour, count
and word questions, with the structured context."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vtscale.data.question_kinds import YES_NO_KINDS, accuracy_by_kind, at_most_per_kind
from vtscale.model.causal_lm import pad_id
from vtscale.model.chat import template_row
from vtscale.train.gates import Figure, Gate

TARGETS = {**{kind: 0.90 for kind in YES_NO_KINDS}, "color": 0.80, "count": 0.80, "word": 0.80}
MODES = ("structured", "description", "blind")


@dataclass(frozen=True)
class ProbeItem:
    kind: str
    question: str
    answer: str
    contexts: dict[str, str]      # mode -> text before the question ("" for blind)


def with_context(context: str, question: str) -> str:
    """The first user turn with ``context`` where the fused tokens go (bootstrap-lm trains on it)."""
    return f"{context}\n{question}" if context else question


@torch.no_grad()
def first_token_hits(model, tokenizer, items: list[ProbeItem], mode: str,
                     batch_size: int = 64) -> list[bool]:
    """Whether the argmax next token after each prompt is the answer's first token."""
    was_training = model.training
    model.eval()
    hits: list[bool] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        rows = [template_row(tokenizer, [with_context(i.contexts.get(mode, ""), i.question)],
                             None, [0]).ids for i in chunk]
        ids, mask = left_padded(rows, pad_id(tokenizer))
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, -1]
        targets = [tokenizer(i.answer, add_special_tokens=False)["input_ids"][0] for i in chunk]
        hits += [int(p) == t for p, t in zip(logits.argmax(-1), targets)]
    model.train(was_training)
    return hits


def left_padded(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, row in enumerate(rows):
        ids[k, width - len(row):] = torch.tensor(row)
        mask[k, width - len(row):] = 1
    return ids, mask


def reading_accuracy(model, tokenizer, items: list[ProbeItem], mode: str) -> dict[str, float]:
    return accuracy_by_kind([i.kind for i in items], first_token_hits(model, tokenizer, items, mode))


def reading_figures(model, tokenizer, items: list[ProbeItem],
                    modes: tuple[str, ...] = MODES) -> dict[str, Figure]:
    """Per kind: ``<kind>`` (structured context, against its target), and, not gated,
    ``<kind>_<mode>`` for the other modes."""
    figures: dict[str, Figure] = {}
    for mode in modes:
        for kind, value in reading_accuracy(model, tokenizer, items, mode).items():
            name = kind if mode == "structured" else f"{kind}_{mode}"
            figures[name] = Figure(value, TARGETS.get(kind) if mode == "structured" else None)
    return figures


def reading_gate(model, tokenizer, items: list[ProbeItem], curve: list[dict]) -> Gate:
    note = (f"first-answer-token accuracy on {len(items)} questions of held-out scenes; "
            "<kind>: with the structured scene line, <kind>_description: with the natural "
            "description, <kind>_blind: the question alone")
    return Gate("llm", reading_figures(model, tokenizer, items), curve, note)


def curve_figures(model, tokenizer, items: list[ProbeItem]) -> dict[str, float]:
    """A cheap point of the gate's learning curve: structured context and blind."""
    figures = reading_accuracy(model, tokenizer, items, "structured")
    figures.update({f"{k}_blind": v for k, v in reading_accuracy(model, tokenizer, items, "blind").items()})
    return figures


def per_kind(items: list[ProbeItem], count: int) -> list[ProbeItem]:
    return at_most_per_kind(items, count, lambda item: item.kind)
