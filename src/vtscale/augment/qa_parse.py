"""Strict parsing of generated QA text (line formats defined in augment/prompts.py).

Every candidate item is either kept or dropped with exactly one reason, so
``generated = kept + sum(dropped)`` holds for the statistics.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

LETTERS = ("A", "B", "C", "D")
DROP_REASONS = (
    "missing_fields",         # the item does not have every line/field of the format
    "answer_not_yes_no",      # yes/no item whose answer is not exactly Yes or No
    "answer_not_a_to_d",      # multiple-choice item whose answer is not one of A-D
    "duplicate_options",      # two options with the same text
    "no_question_mark",       # question does not end with "?"
    "duplicate_question",     # the same question again for the same description
)

_YES_NO_LINE = re.compile(r"^Q:\s*(?P<question>.+?)\s+A:\s*(?P<answer>.*)$")
_OPTION_LINE = re.compile(r"^(?P<letter>[A-D])\)\s*(?P<text>.*)$")
_ANSWER_LINE = re.compile(r"^Answer:\s*(?P<answer>.*)$")


@dataclass
class YesNoItem:
    question: str
    answer: str  # "Yes" | "No"


@dataclass
class ChoiceItem:
    question: str
    options: dict[str, str]
    answer: str  # "A".."D"


@dataclass
class ParseResult:
    items: list = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)

    @property
    def generated(self) -> int:
        return len(self.items) + sum(self.dropped.values())


def _drop_repeats(result: ParseResult) -> ParseResult:
    """Small models loop; keep the first of identical questions (case-insensitive)."""
    seen, unique = set(), []
    for item in result.items:
        key = item.question.lower()
        if key in seen:
            result.dropped["duplicate_question"] += 1
        else:
            seen.add(key)
            unique.append(item)
    result.items = unique
    return result


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines()]


def parse_yes_no(text: str) -> ParseResult:
    """One item per non-empty line: ``Q: <question>? A: Yes|No``."""
    result = ParseResult()
    for line in filter(None, _lines(text)):
        match = _YES_NO_LINE.match(line)
        if not match or not match["answer"].strip():
            result.dropped["missing_fields"] += 1
            continue
        question, answer = match["question"].strip(), match["answer"].strip()
        if not question.endswith("?"):
            result.dropped["no_question_mark"] += 1
        elif answer not in ("Yes", "No"):
            result.dropped["answer_not_yes_no"] += 1
        else:
            result.items.append(YesNoItem(question, answer))
    return _drop_repeats(result)


def _blocks(text: str) -> list[list[str]]:
    """Items start at a ``Q:`` line; stray lines before the first one form their own block."""
    blocks: list[list[str]] = []
    for line in filter(None, _lines(text)):
        if line.startswith("Q:") or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    return blocks


def _parse_choice_block(block: list[str]) -> ChoiceItem | str:
    """A ChoiceItem, or the drop reason."""
    if len(block) != 6 or not block[0].startswith("Q:"):
        return "missing_fields"
    question = block[0][2:].strip()
    options = {}
    for letter, line in zip(LETTERS, block[1:5]):
        match = _OPTION_LINE.match(line)
        if not match or match["letter"] != letter or not match["text"].strip():
            return "missing_fields"
        options[letter] = match["text"].strip()
    answer_match = _ANSWER_LINE.match(block[5])
    if not question or not answer_match or not answer_match["answer"].strip():
        return "missing_fields"
    if not question.endswith("?"):
        return "no_question_mark"
    answer = answer_match["answer"].strip()
    if answer not in LETTERS:
        return "answer_not_a_to_d"
    if len({text.lower() for text in options.values()}) < len(options):
        return "duplicate_options"
    return ChoiceItem(question, options, answer)


def parse_multiple_choice(text: str) -> ParseResult:
    """Blocks of ``Q: ...?`` / ``A) .. B) .. C) .. D) ..`` / ``Answer: <letter>``."""
    result = ParseResult()
    for block in _blocks(text):
        parsed = _parse_choice_block(block)
        if isinstance(parsed, str):
            result.dropped[parsed] += 1
        else:
            result.items.append(parsed)
    return _drop_repeats(result)
