"""Fresh scenes from the world's own generator for the demo CLIP bootstrap.

The paper's CLIP learned what shapes and letters look like from hundreds of millions of
images; the demo world has 4,000 training scenes, and a ViT trained on them learns
their words by heart (per-cell probes on held-out scenes stall near 0.77 for words while
the training loss goes to zero). Scenes drawn from the world's generator on a stream of
their own (``bootstrap_clip``, so never a training or benchmark scene of the world) give
the ViT as many distinct scenes as it has steps, each with its exact whole-scene caption
(vtscale.train.clip_regions) and, for the dense loss, its labels. Item ``i`` is a pure
function of (seed, i): the loop's data order, and so a resumed run, stay exact.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import open_clip
import torch
from PIL import Image
from torch.utils.data import Dataset

from vtscale.data.synth.config import WorldConfig
from vtscale.data.synth.render import draw_scene, scene_record, word_origin
from vtscale.data.synth.scene import item_rng, sample_scene
from vtscale.model.vision import CLIP_TEXT_CONTEXT
from vtscale.train.cell_labels import Box, Item, scene_items
from vtscale.train.clip_regions import crop_caption

STREAM = "bootstrap_clip"


class GeneratedScenes(Dataset):
    """``count`` generated scenes as (whole view [3, S, S] uint8, caption tokens[, labels
    ``label_view(items, box)``]), the items of vtscale.train.bootstrap_clip.ImageTextPairs."""

    def __init__(self, world: WorldConfig, seed: int, count: int, view_size: int,
                 label_view: Callable[[list[Item], Box], torch.Tensor] | None = None):
        self.world, self.seed, self.count, self.view_size = world, seed, count, view_size
        self.label_view = label_view
        self.place = word_origin(world.image_size)
        self.tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=CLIP_TEXT_CONTEXT)

    def __len__(self) -> int:
        return self.count

    def record(self, index: int):
        scene = sample_scene(item_rng(self.seed, STREAM, index), self.world, f"{STREAM}_{index:06d}",
                             STREAM, word_origin=self.place)
        return scene, scene_record(scene, self.world.image_size)

    def __getitem__(self, index: int) -> tuple:
        scene, record = self.record(index)
        size = self.world.image_size
        image = draw_scene(scene, size)
        if size != self.view_size:
            image = image.resize((self.view_size, self.view_size), Image.Resampling.BICUBIC)
        view = torch.from_numpy(np.array(image)).permute(2, 0, 1)
        box = (0, 0, size, size)
        tokens = self.tokenizer([crop_caption(record, box)])[0]
        if self.label_view is None:
            return view, tokens
        return view, tokens, self.label_view(scene_items(record), box)
