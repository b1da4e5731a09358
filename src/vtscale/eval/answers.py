"""How a dataset type reads the ``answer`` cell (already stripped): the answers a row is
scored against, or why the row cannot be scored. Each returns ``(answers, reason)``, the
reason None where the answer reads."""

from __future__ import annotations

from vtscale.eval.benchmark import parse_list

Parsed = tuple[list[str], str | None]


def yes_or_no(text: str) -> Parsed:
    answer = text.capitalize()
    if answer not in ("Yes", "No"):
        return [], f"answer {text!r} is not Yes or No"
    return [answer], None


def one_answer(text: str) -> Parsed:
    return [text], None


def one_or_a_list(text: str) -> Parsed:
    """A list literal of accepted answers, or the one answer."""
    return _listed(text) if text.startswith("[") else one_answer(text)


def reference_list(text: str) -> Parsed:
    if not text.startswith("["):
        return [], "caption answer must be a list of references"
    return _listed(text)


def _listed(text: str) -> Parsed:
    answers = parse_list(text)
    if answers is None:
        return [], f"answer {text[:40]!r} is not a valid list"
    return answers, None
