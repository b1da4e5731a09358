"""What a demo-world question asks, read from its surface form (vtscale.prompts and
vtscale.data.synth.facts): the kinds the backbone gates and stage 2's held-out check report.

Kinds: ``existence`` (POPE-style "Is there a red circle in the image?"), ``color_yn``
("Is the circle on the left red?"), ``count_yn``, ``word_yn``, ``position_yn`` (yes/no);
``count``, ``color``, ``word``, ``words`` (all of them), ``position`` (short answers); ``mcq``; ``caption``;
``other`` (e.g. generated QA).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable, Iterable, TypeVar

Item = TypeVar("Item")

YES_NO_KINDS = ("existence", "color_yn", "count_yn", "word_yn", "position_yn")
SHORT_KINDS = ("count", "color", "word", "words", "position")
KINDS = (*YES_NO_KINDS, *SHORT_KINDS, "mcq", "caption", "other")

_PATTERNS = (
    ("mcq", r"^(hint: .*\n)?question:"),
    ("caption", r"describe"),
    ("word_yn", r"^is the word "),
    ("count_yn", r"^(is|are) there exactly "),
    ("existence", r"^is there an? \w+ \w+ in the image\?"),
    ("position_yn", r"^is the \w+ \w+ (in|on|at) the [a-z ]+ of the image\?"),
    ("color_yn", r"^is the \w+ (in|on|at) the [a-z ]+ \w+\?"),
    ("count", r"^how many "),
    ("color", r"^what colou?r "),
    ("word", r"^what word "),
    ("words", r"^what words "),
    ("position", r"^(where is|in which part)"),
)


def question_kind(question: str) -> str:
    text = question.replace("<image>", "").strip().lower()
    for kind, pattern in _PATTERNS:
        if re.search(pattern, text):
            return kind
    return "other"


def at_most_per_kind(items: Iterable[Item], per_kind: int, kind_of: Callable[[Item], str]) -> list[Item]:
    """At most ``per_kind`` items of each kind, in order."""
    kept, seen = [], Counter()
    for item in items:
        kind = kind_of(item)
        if seen[kind] < per_kind:
            kept.append(item)
            seen[kind] += 1
    return kept


def repeated_by_kind(items: list[Item], repeats: dict[str, int], kind_of: Callable[[Item], str]) -> list[Item]:
    """``items`` with each item of a kind in ``repeats`` that many times (others once)."""
    return [item for item in items for _ in range(repeats.get(kind_of(item), 1))]


def accuracy_by_kind(kinds: Iterable[str], hits: Iterable[bool]) -> dict[str, float]:
    """Share of hits per kind, kinds sorted."""
    right, total = Counter(), Counter()
    for kind, hit in zip(kinds, hits):
        total[kind] += 1
        right[kind] += bool(hit)
    return {kind: right[kind] / total[kind] for kind in sorted(total)}
