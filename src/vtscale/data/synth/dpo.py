"""Preference pairs from scene facts: the question describes a scene in words, the chosen
answer is right, the rejected one gets one fact (count, colour or position) wrong and is
worded differently, as a weaker model's answer would be: the divergence analysis (paper §3)
compares two branches that differ from their first tokens, not near-copies. Columns follow Intel/orca_dpo_pairs: system, question, chosen, rejected."""

from __future__ import annotations

import numpy as np

from .facts import _unique_by
from .language import _join
from .scene import COLOR_NAMES, Scene
from .vocab import REGIONS, REGION_PHRASES, article, number_word, plural, region, region_phrase

SYSTEM = ("You are a careful assistant. Answer questions about the described picture "
          "accurately, in one or two full sentences.")


def _listing(scene: Scene) -> str:
    return _join([f"{article(o.size)} {o.size} {o.color} {o.kind} {region_phrase(o.cell)}"
                  for o in scene.objects])


def _count_pair(scene: Scene, rng: np.random.Generator) -> tuple[str, str, str]:
    kinds = sorted({o.kind for o in scene.objects})
    kind = kinds[int(rng.integers(len(kinds)))]
    n = scene.count(kind=kind)
    wrong = n + int(rng.choice([-1, 1])) if n > 1 else n + 1
    others = len(scene.objects) - n

    def answer(k: int) -> str:
        rest = (f"The other {number_word(others)} {plural('shape', others)} "
                f"{'is not a' if others == 1 else 'are not'} {plural(kind, 1 if others == 1 else 2)}"
                if others else "Every shape in the picture is one of them")
        return (f"There {'is' if k == 1 else 'are'} {number_word(k)} {plural(kind, k)} in the picture. "
                f"I counted each {kind} in the description one by one. {rest}, so the answer is "
                f"{number_word(k)}.")

    def reworded(k: int) -> str:
        return (f"Going through the list of {number_word(len(scene.objects))} shapes, my count "
                f"of {plural(kind, 2)} comes to {number_word(k)}. Everything else listed is a "
                f"different kind of shape, so {number_word(k)} is what I would answer here.")

    return f"How many {plural(kind, 2)} are there in the picture?", answer(n), reworded(wrong)


def _color_pair(scene: Scene, rng: np.random.Generator) -> tuple[str, str, str] | None:
    candidates = _unique_by(scene, lambda o: (o.size, o.kind, region(o.cell)))
    if not candidates:
        return None
    obj = candidates[int(rng.integers(len(candidates)))]
    where = region_phrase(obj.cell)
    wrong = [c for c in COLOR_NAMES if c != obj.color][int(rng.integers(len(COLOR_NAMES) - 1))]

    def answer(color: str) -> str:
        return (f"The {obj.size} {obj.kind} {where} of the picture is {color}. Its color is {color}, "
                f"which you can tell from the description of that {obj.kind}.")

    def reworded(color: str) -> str:
        return (f"Judging from the description, I believe that shape is {color}. Among the "
                f"{plural('object', 2)} mentioned, the {obj.kind} you ask about looks {color} to me, "
                f"so my answer is {color}.")

    return f"What color is the {obj.size} {obj.kind} {where}?", answer(obj.color), reworded(wrong)


def _position_pair(scene: Scene, rng: np.random.Generator) -> tuple[str, str, str] | None:
    candidates = _unique_by(scene, lambda o: (o.size, o.color, o.kind))
    if not candidates:
        return None
    obj = candidates[int(rng.integers(len(candidates)))]
    here = region(obj.cell)
    wrong = [r for r in REGIONS if r != here][int(rng.integers(len(REGIONS) - 1))]

    def answer(place: str) -> str:
        return (f"The {obj.size} {obj.color} {obj.kind} is {REGION_PHRASES[place]} of the picture. "
                f"Looking at the layout, you will find it {REGION_PHRASES[place]}.")

    def reworded(place: str) -> str:
        return (f"If I picture the layout from the description, that {obj.kind} should sit "
                f"{REGION_PHRASES[place]}. It is placed {REGION_PHRASES[place]}, away from the "
                f"other shapes.")

    return f"Where is the {obj.size} {obj.color} {obj.kind}?", answer(here), reworded(wrong)


PAIRS = (_count_pair, _color_pair, _position_pair)


def make_pair(scene: Scene, index: int, rng: np.random.Generator) -> dict:
    pair = PAIRS[index % len(PAIRS)](scene, rng) or _count_pair(scene, rng)
    question, chosen, rejected = pair
    return {"system": SYSTEM, "question": f"A picture shows {_listing(scene)}. {question}",
            "chosen": chosen, "rejected": rejected}
