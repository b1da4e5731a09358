"""Region captions for the demo CLIP bootstrap.

A description is longer than CLIP's 77-token context, so (global view, description)
pairs alone teach the ViT little about single shapes: the per-shape sentences are cut
off. The world's scene graph (scenes.jsonl) says exactly which shapes and words lie in
any crop, so every crop gets a short exact caption, e.g. ``large red circle, small blue
star, the word "cat"``. The crops are the views the VLM sees (the whole image and its
2x2 quadrants, the demo's HD-4 local views) plus one seeded random square crop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from vtscale.data.scenes import iter_scenes
from vtscale.errors import InputError

Box = tuple[int, int, int, int]
QUADRANTS = 2          # the demo's HD-4 local views are the image's 2x2 quadrants
EMPTY = "an empty background"


@dataclass(frozen=True)
class ImageText:
    image: Path
    text: str
    box: Box | None = None     # crop in pixels (x0, y0, x1, y1); None = whole image


def _centre_inside(bbox: list[int], box: Box) -> bool:
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return box[0] <= cx < box[2] and box[1] <= cy < box[3]


def crop_caption(record: dict, box: Box) -> str:
    """The shapes (in grid-cell raster order) and words whose centres lie inside ``box``."""
    shapes = sorted((o for o in record["objects"] if _centre_inside(o["bbox"], box)),
                    key=lambda o: tuple(o.get("cell", ())))
    parts = [f"{o['size']} {o['color']} {o['kind']}" for o in shapes]
    parts += [f'the word "{w["text"]}"' for w in record["words"] if _centre_inside(w["bbox"], box)]
    return ", ".join(parts) or EMPTY


CROPS = ("whole", "quadrants", "random")


def crop_boxes(width: int, height: int, rng: random.Random, crops: tuple[str, ...] = CROPS) -> list[Box]:
    """The crops named in ``crops``: the whole image, its 2x2 quadrants, one seeded random
    square of 30-70 % of the side."""
    boxes = [(0, 0, width, height)] if "whole" in crops else []
    if "quadrants" in crops:
        for row in range(QUADRANTS):
            for col in range(QUADRANTS):
                boxes.append((col * width // QUADRANTS, row * height // QUADRANTS,
                              (col + 1) * width // QUADRANTS, (row + 1) * height // QUADRANTS))
    if "random" in crops:
        side = int(min(width, height) * rng.uniform(0.3, 0.7))
        x0, y0 = rng.randrange(width - side + 1), rng.randrange(height - side + 1)
        boxes.append((x0, y0, x0 + side, y0 + side))
    return boxes


def region_pairs(scenes: str | Path, image_root: Path, seed: int,
                 crops: tuple[str, ...] = CROPS) -> list[ImageText]:
    """(crop, caption) pairs for every training scene of ``scenes`` (a scenes.jsonl), one
    per crop named in ``crops``."""
    rng = random.Random(seed)
    pairs = []
    for where, record in iter_scenes(scenes, boxes=True):
        if record["split"] != "train":      # benchmark scenes stay unseen
            continue
        image = image_root / record["image"]
        if not image.is_file():
            raise InputError(f"{where}: image file {image} not found")
        with Image.open(image) as img:
            width, height = img.size
        pairs += [ImageText(image, crop_caption(record, box), box)
                  for box in crop_boxes(width, height, rng, crops)]
    if not pairs:
        raise InputError(f"{scenes}: no scenes with split 'train'")
    return pairs
