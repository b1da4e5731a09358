"""The four page filters of the document re-parsing (paper Appendix B; thresholds in docs/paper_profile.md §1).

A page pairs the source text with the parser's text. It is kept only if every filter
passes; the first one that fails, in FILTERS order, is the page's rejection reason. The
order is the authors' (scripts/prepare_mPLUG_doc_nouga_clean.py): a repeated source text
is reported as repetition even though it usually also mismatches in length.
"""

from __future__ import annotations

from dataclasses import dataclass

from nltk.tokenize import NLTKWordTokenizer

FILTERS = ("too_short", "repetition", "length_mismatch", "low_similarity")

_TOKENIZER = NLTKWordTokenizer()


@dataclass
class FilterThresholds:
    min_tokens: int = 10
    max_length_ratio: float = 0.1
    tail_tokens: int = 256
    min_unique_ratio: float = 0.12
    min_similarity: float = 0.5


def tokenize(text: str) -> list[str]:
    """nltk's Treebank-style word tokens (``word_tokenize`` without the punkt download)."""
    return _TOKENIZER.tokenize(text)


def length_ratio(n1: int, n2: int) -> float:
    """|l1 - l2| / max(l1, l2); 0 for two empty texts."""
    longest = max(n1, n2)
    return abs(n1 - n2) / longest if longest else 0.0


def tail_unique_ratio(tokens: list[str], tail: int) -> float:
    """Distinct / total tokens over the last ``tail`` tokens (low = endless repetition)."""
    window = tokens[-tail:]
    return len(set(window)) / len(window) if window else 0.0


def is_too_short(source: list[str], parsed: list[str], th: FilterThresholds) -> bool:
    return len(source) < th.min_tokens or len(parsed) < th.min_tokens


def is_length_mismatch(source: list[str], parsed: list[str], th: FilterThresholds) -> bool:
    return length_ratio(len(source), len(parsed)) > th.max_length_ratio


def is_repetitive(source: list[str], parsed: list[str], th: FilterThresholds) -> bool:
    # The authors test the source text (prepare_mPLUG_doc_nouga_clean.py), then run the same
    # length and tail test on the kept parses (further_clean.py): both texts, as here.
    return any(tail_unique_ratio(t, th.tail_tokens) < th.min_unique_ratio for t in (source, parsed))


def is_dissimilar(similarity: float, th: FilterThresholds) -> bool:
    return similarity < th.min_similarity


def first_failure(source_text: str, parsed_text: str, similarity: float,
                  th: FilterThresholds) -> str | None:
    """The first failing filter's name, or None when the page is kept."""
    source, parsed = tokenize(source_text), tokenize(parsed_text)
    checks = (
        ("too_short", lambda: is_too_short(source, parsed, th)),
        ("repetition", lambda: is_repetitive(source, parsed, th)),
        ("length_mismatch", lambda: is_length_mismatch(source, parsed, th)),
        ("low_similarity", lambda: is_dissimilar(similarity, th)),
    )
    return next((name for name, failed in checks if failed()), None)
