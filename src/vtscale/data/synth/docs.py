"""Document pages: English-like paragraphs rendered on white pages, with the source text.

Besides normal pages (about 60%), some pages are built to fail one of the paper's
document filters (src/vtscale/augment/filters.py) so the augmentation stage shows each one:
``short`` (under 10 tokens), ``repeated`` (a phrase repeated to the end: tail
repetition), ``offtopic`` (stored text unrelated to the page: embedding similarity)
and ``partial`` (only the start of the stored text is on the page: length ratio).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .render import font

PAGE_SIZE = (448, 576)
MARGIN = 24
BODY_FONT_PX = 18      # rapidocr reads ~16 px and larger reliably
SMALL_FONT_PX = 10     # repeated pages: hundreds of repetitions must fit
TITLE_FONT_PX = 28
# Fixed cycle of 10 so even a tiny world has every kind; 6 of 10 normal.
KIND_CYCLE = ("normal", "short", "normal", "repeated", "normal",
              "offtopic", "normal", "partial", "normal", "normal")

TOPICS = {
    "garden": dict(
        subj=["the old cat", "a small bird", "the gardener", "my neighbour", "a young fox", "the dog"],
        verb=["waters", "watches", "finds", "plants", "digs around", "rests near"],
        obj=["the apple tree", "a row of tulips", "the wooden fence", "fresh mint", "the stone path", "tall grass"],
        place=["behind the house", "in the quiet garden", "by the pond", "under the hedge", "near the shed"],
        time=["Every spring", "Early in the morning", "After the rain", "On warm evenings"]),
    "harbor": dict(
        subj=["the fishing ship", "a tired sailor", "the harbor master", "an old captain", "the crew"],
        verb=["unloads", "repairs", "checks", "ties up", "paints", "counts"],
        obj=["the heavy nets", "a rusty anchor", "crates of fish", "the long rope", "the lighthouse lamp"],
        place=["at the pier", "beside the dock", "on the windy coast", "past the breakwater", "near the beacon"],
        time=["Before dawn", "During the storm", "At high tide", "Late at night"]),
    "kitchen": dict(
        subj=["the cook", "my grandmother", "a hungry child", "the baker", "our guest"],
        verb=["stirs", "slices", "bakes", "pours", "tastes", "washes"],
        obj=["warm milk", "a loaf of bread", "the tomato soup", "fresh eggs", "a bowl of rice", "sweet butter"],
        place=["on the stove", "at the wooden table", "by the window", "in the oven", "beside the sink"],
        time=["Before breakfast", "Every Sunday", "At noon", "For the holiday dinner"]),
    "school": dict(
        subj=["the teacher", "a curious student", "the librarian", "our class", "the new pupil"],
        verb=["reads", "explains", "writes down", "borrows", "studies", "reviews"],
        obj=["a history book", "the long division", "a short poem", "the science lesson", "a map of rivers"],
        place=["in the library", "at the blackboard", "during the lecture", "in the classroom", "after the exam"],
        time=["On Monday", "Before the test", "In the afternoon", "At the end of term"]),
    "city": dict(
        subj=["the red bus", "a taxi driver", "the mayor", "a street musician", "the traffic officer"],
        verb=["passes", "waits for", "stops at", "announces", "blocks", "follows"],
        obj=["the busy crossing", "a new subway line", "the evening crowd", "the parking rules", "the market square"],
        place=["downtown", "near the station", "on the main avenue", "by the city hall", "across the bridge"],
        time=["At rush hour", "Every weekday", "Late in the evening", "During the parade"]),
}
SHORT_TEXTS = ("Chapter One", "Table of Contents", "Appendix B", "Notes", "Index of Names",
               "Page left blank", "Part Two", "References")
REPEAT_PHRASES = ("the cat sat", "all work and no play", "see page ten", "yes we can",
                  "more rain today", "read the book")


@dataclass
class Doc:
    id: str
    kind: str
    text: str          # stored source text
    page: Image.Image


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def sentence(topic: str, rng: np.random.Generator) -> str:
    t = TOPICS[topic]
    form = int(rng.integers(3))
    if form == 0:
        s = f"{_pick(rng, t['subj'])} {_pick(rng, t['verb'])} {_pick(rng, t['obj'])} {_pick(rng, t['place'])}"
    elif form == 1:
        s = f"{_pick(rng, t['time'])}, {_pick(rng, t['subj'])} {_pick(rng, t['verb'])} {_pick(rng, t['obj'])}"
    else:
        s = (f"{_pick(rng, t['subj'])} {_pick(rng, t['verb'])} {_pick(rng, t['obj'])} and "
             f"{_pick(rng, t['verb'])} {_pick(rng, t['obj'])} {_pick(rng, t['place'])}")
    return s[0].upper() + s[1:] + "."


def paragraph(topic: str, rng: np.random.Generator, min_words: int) -> str:
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < min_words:
        sentences.append(sentence(topic, rng))
    return " ".join(sentences)


def _same_length(text: str, n_words: int) -> str:
    """Cut ``text`` to exactly ``n_words`` words, ending with a full stop."""
    words = text.split()[:n_words]
    return " ".join(words).rstrip(".,") + "."


def _word_gap(px: int) -> int:
    # With the default font's narrow space rapidocr glues words together at 16-24 px;
    # 1.4 em gaps make it box (and read) every word. Tiny text reads fine with 0.6 em.
    return round(px * (0.6 if px <= SMALL_FONT_PX else 1.4))


def _line_width(words: list[str], px: int) -> float:
    f = font(px)
    return sum(f.getlength(w) for w in words) + _word_gap(px) * (len(words) - 1)


def wrap(text: str, px: int, width: int) -> list[str]:
    lines, line = [], []
    for word in text.split():
        if line and _line_width(line + [word], px) > width:
            lines.append(" ".join(line))
            line = []
        line.append(word)
    if line:
        lines.append(" ".join(line))
    return lines


def _line_height(px: int) -> int:
    return round(px * 1.45)


def fits(text: str, px: int) -> list[str]:
    """The lines of ``text`` that fit on one page."""
    max_lines = (PAGE_SIZE[1] - 2 * MARGIN) // _line_height(px)
    return wrap(text, px, PAGE_SIZE[0] - 2 * MARGIN)[:max_lines]


def render_page(lines: list[str], px: int) -> Image.Image:
    page = Image.new("RGB", PAGE_SIZE, (255, 255, 255))
    draw, f = ImageDraw.Draw(page), font(px)
    for i, line in enumerate(lines):
        x = MARGIN
        for word in line.split():
            draw.text((x, MARGIN + i * _line_height(px)), word, fill=(0, 0, 0), font=f)
            x += f.getlength(word) + _word_gap(px)
    return page


def make_doc(index: int, rng: np.random.Generator) -> Doc:
    kind = KIND_CYCLE[index % len(KIND_CYCLE)]
    doc_id = f"doc_{index:03d}"
    topics = sorted(TOPICS)
    topic = _pick(rng, topics)
    if kind == "short":
        text = _pick(rng, SHORT_TEXTS)
        return Doc(doc_id, kind, text, render_page([text], TITLE_FONT_PX))
    if kind == "repeated":
        lines = fits(" ".join([_pick(rng, REPEAT_PHRASES)] * 600), SMALL_FONT_PX)
        return Doc(doc_id, kind, " ".join(lines), render_page(lines, SMALL_FONT_PX))
    body = " ".join(fits(paragraph(topic, rng, int(rng.integers(50, 100))), BODY_FONT_PX))
    body = _same_length(body, len(body.split()))
    if kind == "normal":
        return Doc(doc_id, kind, body, render_page(fits(body, BODY_FONT_PX), BODY_FONT_PX))
    if kind == "offtopic":
        other = _pick(rng, [t for t in topics if t != topic])
        stored = _same_length(paragraph(other, rng, len(body.split())), len(body.split()))
        return Doc(doc_id, kind, stored, render_page(fits(body, BODY_FONT_PX), BODY_FONT_PX))
    if kind == "partial":
        shown = _same_length(body, max(10, int(len(body.split()) * rng.uniform(0.3, 0.5))))
        return Doc(doc_id, kind, body, render_page(fits(shown, BODY_FONT_PX), BODY_FONT_PX))
    raise ValueError(f"unknown document kind {kind!r}")
