"""Generated scenes for the CLIP bootstrap: the world's generator on a stream of its own."""

from __future__ import annotations

import functools
import json

import open_clip
import torch

from vtscale.data.synth.config import WorldConfig
from vtscale.model.vision import CLIP_TEXT_CONTEXT
from vtscale.train.cell_labels import FIELDS, view_cell_labels
from vtscale.train.clip_scenes import GeneratedScenes

WORLD = WorldConfig(image_size=224, min_objects=2, max_objects=6, max_words=2)


def test_an_item_is_a_pure_function_of_seed_and_index():
    scenes = GeneratedScenes(WORLD, seed=0, count=10, view_size=224)
    again = GeneratedScenes(WORLD, seed=0, count=10, view_size=224)
    other = GeneratedScenes(WORLD, seed=1, count=10, view_size=224)
    view, tokens = scenes[3]
    assert view.shape == (3, 224, 224) and view.dtype == torch.uint8
    assert torch.equal(view, again[3][0]) and torch.equal(tokens, again[3][1])
    assert not torch.equal(view, scenes[4][0]) and not torch.equal(view, other[3][0])


def test_caption_and_cell_labels_say_what_the_scene_holds():
    scenes = GeneratedScenes(WORLD, seed=0, count=5, view_size=64,
                             label_view=functools.partial(view_cell_labels, cells=4))
    scene, record = scenes.record(2)
    view, tokens, labels = scenes[2]
    assert view.shape == (3, 64, 64) and labels.shape == (3, 16)
    first = record["objects"][0]
    caption = open_clip.tokenizer.SimpleTokenizer(context_length=CLIP_TEXT_CONTEXT)(
        [f"{first['size']} {first['color']} {first['kind']}"])[0]
    assert torch.equal(tokens[1:4], caption[1:4])
    cell = first["cell"][0] * 4 + first["cell"][1]
    assert labels[0, cell] == FIELDS["color"].index(first["color"])
    assert (labels[1] > 0).sum() == len(record["objects"])
    assert (labels[2] > 0).sum() == len(record["words"])
