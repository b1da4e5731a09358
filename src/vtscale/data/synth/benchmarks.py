"""Held-out benchmarks in VLMEvalKit TSV layout, built from scenes never used in training.

Each builder returns rows (dicts); ``image`` holds the base64 PNG of the row's scene,
repeated on every row of that scene (no index references).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Callable

import numpy as np

from vtscale import prompts

from . import facts
from .config import ASPECTS
from .language import captions
from .scene import COLOR_NAMES, Scene, recolor
from .vocab import with_article

# name -> file under DATA; the same names as eval.benchmarks in config/demo.yaml and tiny.yaml
FILES = {
    "DemoPOPE": "benchmarks/DemoPOPE.tsv",
    "DemoMME": "benchmarks/DemoMME.tsv",
    "DemoHallusion": "benchmarks/DemoHallusion.tsv",
    "DemoMCQ": "benchmarks/DemoMCQ.tsv",
    "DemoOCRVQA": "benchmarks/DemoOCRVQA.tsv",
    "DemoCaption": "benchmarks/DemoCaption.tsv",
}
POPE_CATEGORIES = ("random", "popular", "adversarial")
MME_CATEGORIES = ("existence", "count", "position", "color", "OCR")
MME_ASPECT = {"existence": "existence", "count": "count", "position": "position",
              "color": "color", "OCR": "reading"}
MCQ_ASPECTS = ("count", "color", "position", "reading")

RngFor = Callable[[str, int], np.random.Generator]
Images = dict[str, str]   # scene id -> base64 PNG


def _choice(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def pope_negative(scene: Scene, category: str, popularity: Counter, rng) -> str:
    absent = facts.absent_names(scene)
    if category == "popular":
        ranked = sorted(absent, key=lambda n: (-popularity[n], n))
        return _choice(rng, ranked[:3])
    if category == "adversarial":
        same_kind = [n for k in sorted({o.kind for o in scene.objects}) for n in facts.absent_names(scene, k)]
        if same_kind:
            return _choice(rng, same_kind)
    return _choice(rng, absent)


def pope(scenes: list[Scene], images: Images, popularity: Counter, rng_for: RngFor) -> list[dict]:
    """Three questions per image, one per negative-sampling category; Yes/No alternate."""
    rows = []
    for i, scene in enumerate(scenes):
        rng = rng_for("pope", i)
        for j, category in enumerate(POPE_CATEGORIES):
            if (i + j) % 2 == 0:
                name, answer = _choice(rng, sorted(scene.names())), "Yes"
            else:
                name, answer = pope_negative(scene, category, popularity, rng), "No"
            rows.append({"image": images[scene.id], "question": facts.existence_question(name),
                         "answer": answer, "category": category, "l2-category": "existence"})
    return rows


def _fact(scene: Scene, aspects: tuple[str, ...], start: int, rng) -> facts.Fact:
    """The first aspect, from ``start`` round the cycle, that applies to ``scene``."""
    for k in range(len(aspects)):
        fact = facts.make_fact(scene, aspects[(start + k) % len(aspects)], rng)
        if fact is not None:
            return fact
    raise AssertionError(f"no question applies to scene {scene.id}")  # existence always applies


def mme(scenes: list[Scene], images: Images, rng_for: RngFor,
        world_aspects=ASPECTS) -> list[dict]:
    """Two questions per image (one Yes, one No) on the same aspect, as MME pairs them;
    one category per aspect of the world."""
    aspects = tuple(MME_ASPECT[c] for c in MME_CATEGORIES if MME_ASPECT[c] in world_aspects)
    category_of = {a: c for c, a in MME_ASPECT.items()}
    rows = []
    for i, scene in enumerate(scenes):
        rng = rng_for("mme", i)
        fact = _fact(scene, aspects, i, rng)
        for want_yes in (True, False):
            question, answer = facts.as_yes_no(fact, want_yes, rng)
            rows.append({"image": images[scene.id], "question": prompts.yes_no(question),
                         "answer": answer, "category": category_of[fact.aspect],
                         "l2-category": "perception"})
    return rows


def hallusion_edit(scene: Scene, new_id: str, rng) -> tuple[Scene, int, str] | None:
    """Recolour one uniquely named object to a colour its shape does not have in the scene."""
    options = []
    for idx, obj in enumerate(scene.objects):
        if scene.names()[obj.name] != 1:
            continue
        free = [c for c in COLOR_NAMES if scene.count(kind=obj.kind, color=c) == 0]
        options += [(idx, c) for c in free]
    if not options:
        return None
    idx, color = options[int(rng.integers(len(options)))]
    return recolor(scene, idx, color, new_id), idx, color


def hallusion_questions(original: Scene, idx: int, new_color: str) -> list[tuple[str, str, str]]:
    """(question, answer on original, answer on edited) sharing a question_id across figures."""
    obj = original.objects[idx]
    n_old = original.count(color=obj.color)
    shapes = "shape" if n_old == 1 else "shapes"
    verb = "Is" if n_old == 1 else "Are"
    return [
        (facts.existence_question(obj.name), "Yes", "No"),
        (facts.existence_question(f"{new_color} {obj.kind}"), "No", "Yes"),
        (f"{verb} there exactly {n_old} {obj.color} {shapes} in the image?", "Yes", "No"),
    ]


def hallusion(pairs: list[tuple[Scene, Scene, int, str]], images: Images) -> list[dict]:
    """Sets of an original and an edited figure; "VS" sets add a text premise that matches
    the original figure, so on the edited figure the text misleads (visual supplement)."""
    rows = []
    for set_id, (original, edited, idx, color) in enumerate(pairs):
        category = "VD" if set_id % 2 == 0 else "VS"
        premise = f"The figure was described as showing {with_article(original.objects[idx].name)}. "
        for figure_id, scene in enumerate((original, edited)):
            for question_id, (q, on_original, on_edited) in enumerate(
                    hallusion_questions(original, idx, color)):
                rows.append({
                    "image": images[scene.id],
                    "question": (premise if category == "VS" else "") + q,
                    "answer": on_original if figure_id == 0 else on_edited,
                    "category": category, "l2-category": "recolor",
                    "set_id": set_id, "figure_id": figure_id, "question_id": question_id})
    return rows


def mcq(scenes: list[Scene], images: Images, rng_for: RngFor,
        world_aspects=ASPECTS) -> list[dict]:
    aspects = tuple(a for a in MCQ_ASPECTS if a in world_aspects)
    rows = []
    for i, scene in enumerate(scenes):
        rng = rng_for("mcq", i)
        fact = _fact(scene, aspects, i, rng)
        question, options, letter = facts.as_mcq(fact, rng)
        rows.append({"image": images[scene.id], "question": question, **options, "answer": letter,
                     "category": fact.aspect, "l2-category": "perception"})
    return rows


def ocrvqa(scenes: list[Scene], images: Images, rng_for: RngFor, all_words: bool = False) -> list[dict]:
    """One word of each scene, or with ``all_words`` all of them in reading order, each
    row's category then its number of words (the scorer reports each category apart, so
    the answers that need several cells get their own curve)."""
    rows = []
    for i, scene in enumerate(scenes):
        fact = facts.all_words(scene) if all_words else facts.reading(scene, rng_for("ocrvqa", i))
        if fact is None:
            raise AssertionError(f"benchmark scene {scene.id} has no word")  # pool scenes always do
        category = word_count_category(fact.answer) if all_words else "reading"
        rows.append({"image": images[scene.id], "question": fact.question, "answer": fact.answer,
                     "category": category, "l2-category": "ocr"})
    return rows


def word_count_category(answer: str) -> str:
    count = len(answer.split())
    return "1 word" if count == 1 else f"{count} words"


def caption(scenes: list[Scene], images: Images) -> list[dict]:
    return [{"image": images[s.id], "question": prompts.CAPTION_PROMPT,
             "answer": json.dumps(captions(s)), "category": "caption", "l2-category": "caption"}
            for s in scenes]
