"""Drawing scenes and document pages with PIL; PNG bytes with fixed encoder settings."""

from __future__ import annotations

import functools
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .scene import Scene, SceneObject, SceneWord, cell_size
from .vocab import BACKGROUNDS, COLORS, TEXT_COLOR

# At 448 px a three-letter word spans about 0.8 of a grid cell (at most 89 of 112 px);
# at 36 px (18 at the demo's 224) per-cell probes on a bootstrapped ViT read the word
# 0.75 of the time after 1,000 steps, at 44 px 0.92 (docs/experiments.md, "The ViT gate").
WORD_FONT_PX = 44


@functools.lru_cache(maxsize=None)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def word_font(image_size: int) -> ImageFont.FreeTypeFont:
    return font(round(WORD_FONT_PX * image_size / 448))


def shape_polygon(kind: str, cx: int, cy: int, r: int) -> list[tuple[float, float]]:
    if kind == "square":
        h = r * 0.85
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if kind == "triangle":
        return [(cx, cy - r), (cx + r * 0.95, cy + r * 0.8), (cx - r * 0.95, cy + r * 0.8)]
    if kind == "star":
        return [(cx + (r if i % 2 == 0 else 0.42 * r) * math.sin(i * math.pi / 5),
                 cy - (r if i % 2 == 0 else 0.42 * r) * math.cos(i * math.pi / 5)) for i in range(10)]
    raise ValueError(f"no polygon for shape kind {kind!r}")


def object_bbox(obj: SceneObject) -> list[int]:
    cx, cy = obj.center
    if obj.kind == "circle":
        return [cx - obj.radius, cy - obj.radius, cx + obj.radius, cy + obj.radius]
    xs, ys = zip(*shape_polygon(obj.kind, cx, cy, obj.radius))
    return [math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys))]


def word_bbox(word: SceneWord, image_size: int) -> list[int]:
    x0, y0, x1, y1 = word_font(image_size).getbbox(word.text)
    return [word.origin[0] + x0, word.origin[1] + y0, word.origin[0] + x1, word.origin[1] + y1]


def word_origin(image_size: int):
    """A placer for scene.sample_scene: a random spot for ``text`` fully inside ``cell``."""
    f, cs, margin = word_font(image_size), cell_size(image_size), max(2, image_size // 112)

    def place(text: str, cell: tuple[int, int], rng: np.random.Generator) -> tuple[int, int]:
        x0, y0, x1, y1 = f.getbbox(text)
        free_x = max(0, cs - 2 * margin - (x1 - x0))
        free_y = max(0, cs - 2 * margin - (y1 - y0))
        x = cell[1] * cs + margin - x0 + int(rng.integers(free_x + 1))
        y = cell[0] * cs + margin - y0 + int(rng.integers(free_y + 1))
        return (x, y)

    return place


def draw_scene(scene: Scene, image_size: int) -> Image.Image:
    image = Image.new("RGB", (image_size, image_size), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(image)
    for obj in scene.objects:
        rgb = COLORS[obj.color][0]
        if obj.kind == "circle":
            draw.ellipse(object_bbox(obj), fill=rgb)
        else:
            draw.polygon(shape_polygon(obj.kind, *obj.center, obj.radius), fill=rgb)
    f = word_font(image_size)
    for word in scene.words:
        draw.text(word.origin, word.text, fill=TEXT_COLOR, font=f)
    return image


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=6, optimize=False)
    return buf.getvalue()


def scene_record(scene: Scene, image_size: int) -> dict:
    """The scenes.jsonl row (docs/formats.md)."""
    record = {
        "id": scene.id, "image": scene.image, "split": scene.split,
        "objects": [{"kind": o.kind, "color": o.color, "size": o.size, "cell": list(o.cell),
                     "bbox": object_bbox(o)} for o in scene.objects],
        "words": [{"text": w.text, "bbox": word_bbox(w, image_size)} for w in scene.words],
    }
    if scene.variant_of:
        record["variant_of"] = scene.variant_of
    return record
