"""Scenes: shapes and short words placed in the cells of a grid, sampled from a seeded rng."""

from __future__ import annotations

import dataclasses
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .config import GRID, WorldConfig
from .vocab import COLORS, KINDS, SIZES, WORDS, region

KIND_NAMES = tuple(KINDS)
KIND_P = np.array(list(KINDS.values())) / sum(KINDS.values())
COLOR_NAMES = tuple(COLORS)
COLOR_P = np.array([p for _, p in COLORS.values()]) / sum(p for _, p in COLORS.values())


@dataclass
class SceneObject:
    kind: str
    color: str
    size: str
    cell: tuple[int, int]
    center: tuple[int, int]
    radius: int

    @property
    def name(self) -> str:
        return f"{self.color} {self.kind}"


@dataclass
class SceneWord:
    text: str
    cell: tuple[int, int]
    origin: tuple[int, int]   # top-left corner passed to PIL's text drawing


@dataclass
class Scene:
    id: str
    split: str
    objects: list[SceneObject]
    words: list[SceneWord]
    background: int = 0
    variant_of: str | None = None

    @property
    def image(self) -> str:
        return f"images/{self.id}.png"

    def count(self, kind: str | None = None, color: str | None = None) -> int:
        return sum(1 for o in self.objects
                   if (kind is None or o.kind == kind) and (color is None or o.color == color))

    def names(self) -> Counter:
        return Counter(o.name for o in self.objects)

    def word_texts(self) -> list[str]:
        return [w.text for w in self.words]


def item_rng(seed: int, stream: str, index: int) -> np.random.Generator:
    """One independent generator per (stream, item): outputs never depend on item order."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode()), index])


def cell_size(image_size: int) -> int:
    return image_size // GRID


# Radius ranges at 448 px. A small shape spans about one 28 px patch of the demo's 224 px
# view: at radius 17-22 (8-11 px at 224, often split over the four patches of its cell)
# a ViT's per-cell probes told its kind 0.72 of the time after the demo's bootstrap, at
# 26-30 they tell it 0.99 (docs/experiments.md, "The ViT gate").
RADII = {"small": (26, 30), "large": (36, 44)}


def _sample_object(rng: np.random.Generator, cell: tuple[int, int], image_size: int) -> SceneObject:
    scale = image_size / 448
    size = SIZES[int(rng.integers(2))]
    low, high = RADII[size]
    radius = int(round(rng.integers(low, high + 1) * scale))
    cs = cell_size(image_size)
    slack = max(0, cs // 2 - radius - int(4 * scale))
    cx = cell[1] * cs + cs // 2 + int(rng.integers(-slack, slack + 1))
    cy = cell[0] * cs + cs // 2 + int(rng.integers(-slack, slack + 1))
    return SceneObject(
        kind=str(rng.choice(KIND_NAMES, p=KIND_P)), color=str(rng.choice(COLOR_NAMES, p=COLOR_P)),
        size=size, cell=cell, center=(cx, cy), radius=radius)


def _sample_word_cells(rng: np.random.Generator, free: list[tuple[int, int]], n: int):
    """Free cells for words, one word per named region so every word can be asked about."""
    chosen, used = [], set()
    for cell in free:
        if len(chosen) == n:
            break
        if region(cell) not in used:
            chosen.append(cell)
            used.add(region(cell))
    return chosen


def sample_scene(rng: np.random.Generator, cfg: WorldConfig, scene_id: str, split: str,
                 min_words: int = 0, word_origin=None) -> Scene:
    """A scene; ``word_origin(text, cell, rng)`` places a word inside its cell (renderer's job)."""
    n_objects = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    n_words = int(rng.integers(min_words, cfg.max_words + 1))
    cells = [(int(c) // GRID, int(c) % GRID) for c in rng.permutation(GRID * GRID)]
    objects = [_sample_object(rng, cell, cfg.image_size) for cell in cells[:n_objects]]
    objects.sort(key=lambda o: o.cell)
    word_cells = sorted(_sample_word_cells(rng, cells[n_objects:], n_words))
    texts = rng.choice(WORDS, size=len(word_cells), replace=False)
    words = [SceneWord(str(t), cell, word_origin(str(t), cell, rng)) for t, cell in zip(texts, word_cells)]
    return Scene(scene_id, split, objects, words, background=int(rng.integers(4)))


def recolor(scene: Scene, index: int, color: str, new_id: str) -> Scene:
    """The same scene with object ``index`` painted ``color`` (HallusionBench-style edit)."""
    objects = list(scene.objects)
    objects[index] = dataclasses.replace(objects[index], color=color)
    return dataclasses.replace(scene, id=new_id, objects=objects, variant_of=scene.id)
