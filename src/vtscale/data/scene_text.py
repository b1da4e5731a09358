"""A scene of ``scenes.jsonl`` as one short structured line of text, e.g. ``Scene: a
large red circle in the center; a small blue star on the left; the word "cat" in the
top left.`` Places use the phrases the world's questions use (vtscale.data.synth.vocab),
so an LLM answers by matching the question's words against the line's. The demo's
bootstrap LM learns to read it (vtscale.train.bootstrap_lm)."""

from __future__ import annotations

from vtscale.data.synth.config import GRID
from vtscale.data.synth.vocab import article, region_phrase


def word_cell(bbox: list[float], image_size: int) -> tuple[int, int]:
    """The grid cell (row, column) that holds a word's box centre."""
    side = image_size / GRID
    row = int(((bbox[1] + bbox[3]) / 2) // side)
    column = int(((bbox[0] + bbox[2]) / 2) // side)
    return min(row, GRID - 1), min(column, GRID - 1)


def structured_scene(record: dict, image_size: int) -> str:
    parts = [f"{article(o['size'])} {o['size']} {o['color']} {o['kind']} {region_phrase(o['cell'])}"
             for o in record["objects"]]
    parts += [f'the word "{w["text"]}" {region_phrase(word_cell(w["bbox"], image_size))}'
              for w in record["words"]]
    return "Scene: " + "; ".join(parts) + "."
