"""Checkable facts about a scene, each askable as yes/no, multiple choice or short answer.

A Fact holds an open question, its short answer, plausible wrong answers and true/false
yes/no claims; the formatters turn it into the shared prompt surface forms
(vtscale.prompts) so training conversations and benchmarks ask the same way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from vtscale import prompts

from .scene import COLOR_NAMES, KIND_NAMES, Scene, SceneWord
from .vocab import REGION_PHRASES, REGIONS, WORDS, plural, region, with_article

LETTERS = ("A", "B", "C", "D")


@dataclass
class Fact:
    aspect: str
    question: str                    # open question
    answer: str                      # short answer: a word, a number or a region name
    distractors: list[str]           # at least 3 wrong answers, plausible first
    claim: Callable[[str], str]      # answer -> yes/no question claiming that answer
    mcq_question: str | None = None  # when the open question reads badly as MCQ
    short_ok: bool = True


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def _unique_by(scene: Scene, key) -> list:
    counts = Counter(key(o) for o in scene.objects)
    return [o for o in scene.objects if counts[key(o)] == 1]


def absent_names(scene: Scene, kind: str | None = None) -> list[str]:
    present = scene.names()
    return [f"{c} {k}" for k in KIND_NAMES for c in COLOR_NAMES
            if f"{c} {k}" not in present and (kind is None or k == kind)]


def existence(scene: Scene, rng: np.random.Generator) -> Fact | None:
    present = sorted(scene.names())
    target = _pick(rng, present)
    kind = target.split()[1]
    # adversarial first: the same shape in another colour
    same_kind = absent_names(scene, kind)
    others = [n for n in absent_names(scene) if n not in same_kind]
    distractors = list(rng.permutation(same_kind)) + list(rng.permutation(others))
    return Fact(
        "existence", "Which of these objects is in the image?", with_article(target),
        [with_article(d) for d in distractors],
        claim=lambda a: f"Is there {a} in the image?", short_ok=False)


def existence_question(name: str) -> str:
    """POPE's question about a colour-and-kind name: "Is there a red circle in the image?"."""
    return f"Is there {with_article(name)} in the image?"


def count(scene: Scene, rng: np.random.Generator) -> Fact | None:
    mode = _pick(rng, ("kind", "kind", "color", "total"))
    if mode == "kind":
        kind = _pick(rng, KIND_NAMES)
        n, noun = scene.count(kind=kind), (lambda k: plural(kind, k))
    elif mode == "color":
        color = _pick(rng, COLOR_NAMES)
        n, noun = scene.count(color=color), (lambda k: f"{color} {plural('shape', k)}")
    else:
        n, noun = len(scene.objects), (lambda k: plural("shape", k))
    wrong = [n + d for d in (1, -1, 2, -2, 3, 4) if n + d >= 0]
    distractors = [str(w) for w in wrong[:2]] + [str(w) for w in rng.permutation(wrong[2:])]

    def claim(a: str) -> str:
        k = int(a)
        return (f"Is there exactly 1 {noun(1)} in the image?" if k == 1
                else f"Are there exactly {k} {noun(k)} in the image?")

    return Fact("count", f"How many {noun(2)} are there in the image?", str(n), distractors, claim)


def color(scene: Scene, rng: np.random.Generator) -> Fact | None:
    candidates = _unique_by(scene, lambda o: (o.kind, region(o.cell)))
    if not candidates:
        return None
    obj = _pick(rng, candidates)
    where = f"the {obj.kind} {_region_phrase(obj.cell)}"
    distractors = [str(c) for c in rng.permutation([c for c in COLOR_NAMES if c != obj.color])]
    return Fact("color", f"What color is {where}?", obj.color, distractors,
                claim=lambda a: f"Is {where} {a}?")


def position(scene: Scene, rng: np.random.Generator) -> Fact | None:
    candidates = _unique_by(scene, lambda o: o.name)
    if not candidates:
        return None
    obj = _pick(rng, candidates)
    here = region(obj.cell)
    distractors = [str(r) for r in rng.permutation([r for r in REGIONS if r != here])]
    return Fact("position", f"Where is the {obj.name} in the image?", here, distractors,
                claim=lambda a: f"Is the {obj.name} {_phrase_of(a)} of the image?",
                mcq_question=f"In which part of the image is the {obj.name}?")


def reading(scene: Scene, rng: np.random.Generator) -> Fact | None:
    if not scene.words:
        return None
    word = _pick(rng, scene.words)
    question = reading_question(scene, word)
    texts = scene.word_texts()
    others = [t for t in texts if t != word.text]  # present elsewhere: the plausible mistake
    absent = [w for w in WORDS if w not in texts]
    distractors = others + [str(w) for w in rng.permutation(absent)]
    return Fact("reading", question, word.text, distractors,
                claim=lambda a: f'Is the word "{a}" written {_region_phrase(word.cell)}?'
                if len(texts) > 1 else f'Is the word "{a}" written in the image?')


def reading_question(scene: Scene, word: SceneWord) -> str:
    """"What word is written ...?" about ``word``: where it is when the scene has others."""
    if len(scene.words) == 1:
        return "What word is written in the image?"
    return f"What word is written {_region_phrase(word.cell)}?"


ALL_WORDS_QUESTION = "What words are written in the image?"


def all_words(scene: Scene) -> Fact | None:
    """Every word in reading order (top to bottom, left to right) as one answer: it needs
    every cell with text, where the other facts need one."""
    if not scene.words:
        return None
    texts = scene.word_texts()
    answer = " ".join(texts)
    others = [" ".join(reversed(texts))] if len(texts) > 1 else []
    absent = [w for w in WORDS if w not in texts]
    distractors = others + [" ".join([*texts[:-1], w]) for w in absent]
    return Fact("reading", ALL_WORDS_QUESTION, answer, distractors,
                claim=lambda a: f'Is "{a}" all the text in the image?')


def _region_phrase(cell) -> str:
    return _phrase_of(region(cell))


def _phrase_of(region_name: str) -> str:
    return REGION_PHRASES[region_name]


MAKERS = {"existence": existence, "count": count, "color": color,
          "position": position, "reading": reading}


def make_fact(scene: Scene, aspect: str, rng: np.random.Generator) -> Fact | None:
    return MAKERS[aspect](scene, rng)


# ---- surface forms ---------------------------------------------------------------

def as_yes_no(fact: Fact, want_yes: bool, rng: np.random.Generator) -> tuple[str, str]:
    """The raw yes/no question (no suffix) and its answer, "Yes" or "No"."""
    if want_yes:
        return fact.claim(fact.answer), "Yes"
    return fact.claim(_plausible_wrong(fact, rng)), "No"


def _plausible_wrong(fact: Fact, rng: np.random.Generator) -> str:
    head = fact.distractors[:3]
    return head[int(rng.integers(len(head)))]


def as_mcq(fact: Fact, rng: np.random.Generator) -> tuple[str, dict[str, str], str]:
    """Question, options A-D (one correct, three plausible distractors), answer letter."""
    options = [fact.answer] + fact.distractors[:3]
    order = rng.permutation(4)
    shuffled = {LETTERS[i]: options[j] for i, j in enumerate(order)}
    letter = LETTERS[int(np.where(order == 0)[0][0])]
    return fact.mcq_question or fact.question, shuffled, letter


def yes_no_turn(fact: Fact, want_yes: bool, rng) -> tuple[str, str]:
    question, answer = as_yes_no(fact, want_yes, rng)
    return prompts.yes_no(question), answer


def mcq_turn(fact: Fact, rng) -> tuple[str, str]:
    question, options, letter = as_mcq(fact, rng)
    return prompts.multiple_choice(question, options), letter


def short_turn(fact: Fact) -> tuple[str, str]:
    return prompts.short_answer(fact.question), fact.answer
