"""Region captions for the demo CLIP bootstrap: exact captions for crops of a scene graph."""

from __future__ import annotations

import json
import random

import pytest
import torch
from PIL import Image

from vtscale.errors import InputError
from vtscale.train.clip_regions import EMPTY, crop_boxes, crop_caption, region_pairs

SCENE = {
    "id": "s0", "image": "images/s0.png", "split": "train",
    "objects": [
        {"kind": "star", "color": "blue", "size": "small", "cell": [3, 3], "bbox": [300, 300, 340, 340]},
        {"kind": "circle", "color": "red", "size": "large", "cell": [0, 0], "bbox": [10, 10, 90, 90]},
        {"kind": "square", "color": "green", "size": "small", "cell": [0, 3], "bbox": [330, 20, 370, 60]},
    ],
    "words": [{"text": "cat", "bbox": [20, 300, 60, 320]}],
}


def test_caption_lists_what_lies_in_the_crop_in_raster_order():
    assert crop_caption(SCENE, (0, 0, 400, 400)) == (
        'large red circle, small green square, small blue star, the word "cat"')
    assert crop_caption(SCENE, (0, 0, 200, 200)) == "large red circle"
    assert crop_caption(SCENE, (0, 200, 200, 400)) == 'the word "cat"'
    assert crop_caption(SCENE, (150, 150, 250, 250)) == EMPTY


def test_boxes_are_whole_image_quadrants_and_one_square_crop_inside():
    boxes = crop_boxes(448, 448, random.Random(0))
    assert boxes[:5] == [(0, 0, 448, 448), (0, 0, 224, 224), (224, 0, 448, 224),
                         (0, 224, 224, 448), (224, 224, 448, 448)]
    x0, y0, x1, y1 = boxes[5]
    assert x1 - x0 == y1 - y0 and 0 <= x0 and 0 <= y0 and x1 <= 448 and y1 <= 448


def write_world(root, records):
    (root / "images").mkdir()
    for record in records:
        Image.new("RGB", (400, 400), "white").save(root / record["image"])
    (root / "scenes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root / "scenes.jsonl"


def test_pairs_cover_training_scenes_only(tmp_path):
    bench = {**SCENE, "id": "b0", "image": "images/b0.png", "split": "bench"}
    path = write_world(tmp_path, [SCENE, bench])
    pairs = region_pairs(path, tmp_path, seed=0)
    assert len(pairs) == 6 and all(p.image.name == "s0.png" for p in pairs)
    assert pairs[0].box == (0, 0, 400, 400) and pairs[1].text == "large red circle"


def test_bad_record_names_file_and_line(tmp_path):
    broken = {**SCENE, "objects": [{"kind": "star", "bbox": [1, 2]}]}
    path = write_world(tmp_path, [SCENE, broken])
    with pytest.raises(InputError, match=r"scenes\.jsonl: line 2: 'objects' must be a list"):
        region_pairs(path, tmp_path, seed=0)


def test_missing_image_names_line(tmp_path):
    path = write_world(tmp_path, [SCENE])
    (tmp_path / "images" / "s0.png").unlink()
    with pytest.raises(InputError, match=r"scenes\.jsonl: line 1: image file .*s0\.png not found"):
        region_pairs(path, tmp_path, seed=0)


def test_each_image_is_decoded_once_up_front_for_all_its_crops(tmp_path, monkeypatch):
    import numpy as np

    from vtscale.train import bootstrap_clip
    from vtscale.train.clip_regions import ImageText
    path = tmp_path / "img.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(path)
    boxes = [None, (0, 0, 40, 32), (40, 32, 80, 64)]
    decoded = []
    real_load = bootstrap_clip.load_image
    monkeypatch.setattr(bootstrap_clip, "load_image", lambda p: decoded.append(p) or real_load(p))
    dataset = bootstrap_clip.ImageTextPairs([ImageText(path, f"crop {i}", b) for i, b in enumerate(boxes)], 16)
    views = [dataset[i][0] for i in (2, 0, 1, 2)]
    assert decoded == [path]
    whole = Image.open(path).convert("RGB")
    for view, box in zip(views, [boxes[2], None, boxes[1]]):
        expected = (whole.crop(box) if box else whole).resize((16, 16), Image.Resampling.BICUBIC)
        assert view.dtype == torch.uint8 and np.array_equal(view.permute(1, 2, 0).numpy(), np.asarray(expected))


def test_a_batch_is_normalised_as_the_vlm_normalises_its_views():
    from vtscale.model.vision import views_to_pixels
    from vtscale.train.vit_gate import normalise_views
    views = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    pil = [Image.fromarray(view.permute(1, 2, 0).numpy()) for view in views]
    assert torch.equal(normalise_views(views.clone()), views_to_pixels(pil))
