"""Answer normalisation of the VQA evaluation (as VLMEvalKit applies it): punctuation,
number words, articles and apostrophe-less contractions; under each rule set's reading."""

from __future__ import annotations

import itertools
import re

from vtscale.eval.rules import LATEST, PINNED

PUNCTUATION = ";/[]\"{}()=+\\_-><@`,?!"
_DIGIT_COMMA_DIGIT = re.compile(r"(\d)(,)(\d)")
_BARE_PERIOD = re.compile(r"(?<!\d)\.(?!\d)")
# At 0ff0c3e a number's trailing period ("5.") was dropped too: only decimal points survive.
_PERIOD_NOT_BEFORE_DIGIT = re.compile(r"\.(?!\d)")
PERIOD_RULES = {LATEST: _BARE_PERIOD, PINNED: _PERIOD_NOT_BEFORE_DIGIT}
# VLMEvalKit (0ff0c3e and today) passes re.UNICODE (32) where ``Pattern.sub`` takes its
# count: only the first 32 such periods go.
PERIOD_LIMIT = 32
ARTICLES = {"a", "an", "the"}
NUMBER_WORDS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
# Canonical contractions; every spelling with some apostrophes dropped maps back to them.
_CONTRACTIONS = (
    "ain't aren't can't could've couldn't couldn't've didn't doesn't don't hadn't hadn't've "
    "hasn't haven't he'd he'd've he's how'd how'll how's i'd've i'm i've isn't it'd it'd've "
    "it'll ma'am mightn't mightn't've might've mustn't must've needn't not've o'clock oughtn't "
    "'ow's'at shan't she'd've she's should've shouldn't shouldn't've somebody'd've somebody'll "
    "somebody's someone'd someone'd've someone'll someone's something'd something'd've "
    "something'll that's there'd there'd've there're there's they'd they'd've they'll they're "
    "they've 'twas wasn't we'd've we've weren't what'll what're what's what've when's where'd "
    "where's where've who'd who'd've who'll who's who've why'll why're why's won't would've "
    "wouldn't wouldn't've y'all y'all'll y'all'd've you'd you'd've you'll you're you've"
).split()


def _contraction_map(most_dropped: int | None = None) -> dict[str, str]:
    """Spelling -> contraction, for every spelling with up to ``most_dropped`` (default
    all) of its apostrophes dropped."""
    table = {}
    for word in _CONTRACTIONS:
        marks = [i for i, ch in enumerate(word) if ch == "'"]
        for k in range(1, min(len(marks), most_dropped or len(marks)) + 1):
            for dropped in itertools.combinations(marks, k):
                table["".join(ch for i, ch in enumerate(word) if i not in dropped)] = word
    return table


def _vqa_challenge_table() -> dict[str, str]:
    """The VQA challenge's hand-written table that VLMEvalKit uses (vqa_eval.py, the same
    at 0ff0c3e and today): one apostrophe dropped at a time; the I-contractions keyed in
    capitals, so they never match the lowercased words; no "shes"; and "somebody'd"
    mapped the wrong way round."""
    table = {spelling: word for spelling, word in _contraction_map(most_dropped=1).items()
             if not word.startswith("i'") and spelling != "shes"}
    return {**table, "somebody'd": "somebodyd"}


CONTRACTIONS = _vqa_challenge_table()


def strip_punctuation(text: str, rules: str = LATEST) -> str:
    """Drop punctuation glued to a space (or any, if the text has 1,000-style numbers),
    turn other punctuation into spaces, drop periods that are not decimal points (under
    ``rules``' reading of that; the first 32 only, as VLMEvalKit)."""
    out = text
    has_number_comma = _DIGIT_COMMA_DIGIT.search(text) is not None
    for p in PUNCTUATION:
        glued = (p + " " in text) or (" " + p in text) or has_number_comma
        out = out.replace(p, "" if glued else " ")
    return PERIOD_RULES[rules].sub("", out, count=PERIOD_LIMIT)


def normalize_digits_articles(text: str) -> str:
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [CONTRACTIONS.get(w, w) for w in words if w not in ARTICLES]
    return " ".join(words)


def normalize_vqa_answer(text: str, rules: str = LATEST) -> str:
    text = text.replace("\n", " ").replace("\t", " ").strip()
    return normalize_digits_articles(strip_punctuation(text, rules))
