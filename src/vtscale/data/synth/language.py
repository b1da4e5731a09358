"""Text about a scene: SVIT-style descriptions, reference captions, LLaVA conversations."""

from __future__ import annotations

from collections import Counter

import numpy as np

from vtscale import prompts

from . import facts
from .config import ASPECTS, AddedTurns
from .scene import Scene, SceneObject
from .vocab import article, number_word, plural, region_phrase, with_article

BACKGROUND_NAMES = ("white", "light gray", "cream", "pale blue")
FORMATS = ("yes_no", "mcq", "short", "caption")
FORMAT_P = (0.4, 0.25, 0.25, 0.1)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _counted(counter: Counter, noun=plural) -> list[str]:
    return [f"{number_word(n)} {noun(k, n)}" for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def kind_summary(scene: Scene) -> str:
    return _join(_counted(Counter(o.kind for o in scene.objects)))


def color_summary(scene: Scene) -> str:
    return _join(_counted(Counter(o.color for o in scene.objects), noun=lambda c, n: c))


def _object_phrase(obj: SceneObject) -> str:
    return f"{article(obj.size)} {obj.size} {obj.color} {obj.kind}"


def words_sentence(scene: Scene) -> str:
    if not scene.words:
        return "There is no text in the image."
    parts = [f'"{w.text}" is written {region_phrase(w.cell)}' for w in scene.words]
    return f"In small black letters, {_join(parts)}."


OBJECT_TEMPLATES = (
    lambda p, w: f"{w[0].upper() + w[1:]} there is {p}.",
    lambda p, w: f"{p[0].upper() + p[1:]} sits {w}.",
    lambda p, w: f"{w[0].upper() + w[1:]} we can see {p}.",
)


def describe(scene: Scene, rng: np.random.Generator) -> str:
    """One paragraph: overview, counts, every object with colour, size and place, then text."""
    n = len(scene.objects)
    sentences = [
        f"The image shows {number_word(n)} colored shapes on a {BACKGROUND_NAMES[scene.background]} "
        f"background, arranged loosely on a four by four grid.",
        f"There are {kind_summary(scene)}.",
        f"By color, the shapes are {color_summary(scene)}.",
    ]
    for obj in scene.objects:
        template = OBJECT_TEMPLATES[int(rng.integers(len(OBJECT_TEMPLATES)))]
        sentences.append(template(_object_phrase(obj), region_phrase(obj.cell)))
    large = sum(o.size == "large" for o in scene.objects)
    sentences.append(f"{number_word(large).capitalize()} of the shapes {'is' if large == 1 else 'are'} "
                     f"large and {number_word(n - large)} {'is' if n - large == 1 else 'are'} small.")
    sentences.append(words_sentence(scene))
    return " ".join(sentences)


def object_list(scene: Scene) -> str:
    """Every shape with its colour and place, in reading order: "a red circle in the top
    left, a blue square at the top and a green star in the center"."""
    return _join([f"{with_article(o.name)} {region_phrase(o.cell)}" for o in scene.objects])


def words_clause(scene: Scene) -> str:
    """Every word with its place, to end a caption: ', with "cat" at the bottom'."""
    if not scene.words:
        return ""
    return ", with " + _join([f'"{w.text}" {region_phrase(w.cell)}' for w in scene.words])


def captions(scene: Scene) -> list[str]:
    """Five reference captions that each name every shape and word with its place, in
    different frames. A caption that must get every cell right needs more fused tokens
    than a one-fact question does (docs/experiments.md); the first is the one training
    asks for."""
    listed = f"{object_list(scene)}{words_clause(scene)}"
    bg = BACKGROUND_NAMES[scene.background]
    n = len(scene.objects)
    return [
        f"{listed[0].upper()}{listed[1:]}.",
        f"There is {listed}.",
        f"{number_word(n).capitalize()} shapes: {listed}.",
        f"On a {bg} background, {listed}.",
        f"The image shows {listed}.",
    ]


def caption_turn(scene: Scene) -> tuple[str, str]:
    return prompts.CAPTION_PROMPT, captions(scene)[0]


def _turn(scene: Scene, fmt: str, aspects: list[str], rng: np.random.Generator) -> tuple[str, str] | None:
    if fmt == "caption":
        return caption_turn(scene)
    aspects = [a for a in aspects if not (fmt == "short" and a == "existence")]
    fact = facts.make_fact(scene, aspects[int(rng.integers(len(aspects)))], rng)
    if fact is None:
        return None
    if fmt == "yes_no":
        return facts.yes_no_turn(fact, bool(rng.integers(2)), rng)
    if fmt == "mcq":
        return facts.mcq_turn(fact, rng)
    return facts.short_turn(fact)


def _formats(rng: np.random.Generator, n_turns: int) -> list[str]:
    while True:
        chosen = [FORMATS[i] for i in rng.choice(len(FORMATS), size=n_turns, p=FORMAT_P)]
        if len(set(chosen)) >= 2 and chosen.count("caption") <= 1:
            return chosen


def existence_claims(scene: Scene, rng: np.random.Generator, per_answer: int) -> list[tuple[str, str]]:
    """POPE's question about up to ``per_answer`` colour-and-kind names in the scene
    ("Yes") and as many absent names ("No"), in random order. A lookup that combines two
    attributes of one cell is learned from tens of thousands of such questions, not from
    the one a conversation asks (docs/experiments.md)."""
    present = sorted(scene.names())
    present = [present[i] for i in rng.permutation(len(present))[:per_answer]]
    absent = facts.absent_names(scene)
    absent = [absent[i] for i in rng.permutation(len(absent))[:len(present)]]
    claims = [(prompts.yes_no(facts.existence_question(name)), answer)
              for names, answer in ((present, "Yes"), (absent, "No")) for name in names]
    return [claims[i] for i in rng.permutation(len(claims))]


def reading_questions(scene: Scene) -> list[tuple[str, str]]:
    """The reading question on every word of the scene, as a short-answer turn. One per
    conversation teaches the fusion too few words to read them (docs/experiments.md)."""
    return [(prompts.short_answer(facts.reading_question(scene, w)), w.text) for w in scene.words]


def all_words_turn(scene: Scene) -> list[tuple[str, str]]:
    """Every word of the scene in one answer (none when it has no words)."""
    fact = facts.all_words(scene)
    return [facts.short_turn(fact)] if fact is not None else []


def yes_no_pairs(scene: Scene, rng: np.random.Generator, aspects) -> list[tuple[str, str]]:
    """Per aspect one fact asked twice, its true claim ("Yes") and a plausible false one
    ("No"), as MME pairs its questions. One yes/no turn per conversation leaves these
    kinds near their image-blind baseline (docs/experiments.md)."""
    turns = []
    for aspect in aspects:
        fact = facts.make_fact(scene, aspect, rng)
        if fact is not None:
            turns += [facts.yes_no_turn(fact, want_yes, rng) for want_yes in (True, False)]
    return turns


def conversation(scene: Scene, rng: np.random.Generator, aspects=ASPECTS,
                 turns_range=(2, 5), added: AddedTurns = AddedTurns()) -> list[dict]:
    """Question/answer turns (``turns_range``, inclusive) about ``aspects`` of the scene,
    mixing yes/no, multiple choice, short answer and caption; then the ``added`` turns,
    each not already asked."""
    turns, seen = [], set()
    for fmt in _formats(rng, int(rng.integers(turns_range[0], turns_range[1] + 1))):
        for _ in range(8):  # a few retries: some aspects do not apply to every scene
            turn = _turn(scene, fmt, list(aspects), rng)
            if turn is not None and turn[0] not in seen:
                seen.add(turn[0])
                turns.append(turn)
                break
    if added.existence_claims:
        turns += [claim for claim in existence_claims(scene, rng, added.existence_claims)
                  if claim[0] not in seen]
    if added.read_every_word:
        turns += [turn for turn in reading_questions(scene) if turn[0] not in seen]
    if added.yes_no_pairs:
        turns += [turn for turn in yes_no_pairs(scene, rng, added.yes_no_pairs) if turn[0] not in seen]
    if added.read_all_words:
        turns += [turn for turn in all_words_turn(scene) if turn[0] not in seen]
    if added.caption_every_scene and prompts.CAPTION_PROMPT not in seen:
        turns.append(caption_turn(scene))
    messages = []
    for i, (question, answer) in enumerate(turns):
        messages.append({"from": "human", "value": ("<image>\n" if i == 0 else "") + question})
        messages.append({"from": "gpt", "value": answer})
    return messages
