"""``vtscale bootstrap-clip``: demo only. No small pretrained CLIP ships on PyPI, so a
small open_clip CLIP is trained with open_clip's own ``ClipLoss`` on the world's
(global image view, description) pairs and, given ``--scenes``, on (crop, region
caption) pairs from the scene graph (vtscale.train.clip_regions): the crops are the
views the VLM sees, so the ViT learns single shapes and words, not just whole-scene
gist. Output folder (read by vtscale.model.vision):

- ``open_clip_config.json``: kwargs of ``open_clip.model.CLIP(**cfg)``
- ``open_clip_model.safetensors``: that CLIP's state_dict
- ``metrics.csv`` (loss curve), ``summary.json``
"""

from __future__ import annotations

import argparse
import logging
import random
from collections import defaultdict
from pathlib import Path

import open_clip
import torch
from accelerate import PartialState
from open_clip.loss import ClipLoss
from PIL import Image
from safetensors.torch import save_file
from torch.utils.data import Dataset

from vtscale.config import ConfigError, config_section
from vtscale.data import descriptions
from vtscale.data.conversations import load_image
from vtscale.data.scenes import read_scenes
from vtscale.errors import InputError
from vtscale.io import write_json
from vtscale.model.config import VisionConfig
from vtscale.model.vision import (BOOTSTRAP_CONFIG, BOOTSTRAP_WEIGHTS, CLIP_TEXT_CONTEXT,
                                  clip_config_from_sizes, patch_tokens, views_to_pixels)
from vtscale.train.cell_labels import CellHeads, patch_labels, scene_items
from vtscale.train.clip_regions import Box, ImageText, region_pairs
from vtscale.train.config import BootstrapClipConfig
from vtscale.train.loop import Task
from vtscale.train.outputs import backbone_config, backbone_parser, train_backbone

log = logging.getLogger(__name__)

def description_pairs(path: str | Path, image_root: Path) -> list[ImageText]:
    """(image, description) of every record with a description (empty ones skipped)."""
    records, _ = descriptions.with_text(descriptions.read_descriptions(path))
    if not records:
        raise InputError(f"{path}: expected a non-empty JSON list of descriptions")
    pairs = []
    for record in records:
        image = image_root / record["image"]
        if not image.is_file():
            raise InputError(f"{path}: record {record['id']!r}: image file {image} not found")
        pairs.append(ImageText(image, descriptions.description_text(record)))
    return pairs


class ImageTextPairs(Dataset):
    """(view, caption tokens[, patch labels]); each view is cropped and resized once, then
    kept (8-bit RGB) and normalised per batch exactly as the VLM normalises its views. The
    first visit to an image decodes it once and cuts the views of all its pairs. With
    ``contents`` (image -> its shapes and words, vtscale.train.cell_labels) every item
    also carries the labels of its view's ``grid`` x ``grid`` patches."""

    def __init__(self, pairs: list[ImageText], view_size: int,
                 contents: dict[Path, tuple[list, int]] | None = None, grid: int = 0):
        self.pairs = pairs
        self.view_size = view_size
        self.contents, self.grid = contents, grid
        self.tokens = open_clip.tokenizer.SimpleTokenizer(context_length=CLIP_TEXT_CONTEXT)(
            [pair.text for pair in pairs])
        self.pairs_of_image: dict[Path, list[int]] = defaultdict(list)
        for index, pair in enumerate(pairs):
            self.pairs_of_image[pair.image].append(index)
        self.cache: dict[int, Image.Image] = {}

    def __len__(self) -> int:
        return len(self.pairs)

    def view(self, image: Image.Image, box: Box | None) -> Image.Image:
        if box is not None:
            image = image.crop(box)
        return image.resize((self.view_size, self.view_size), Image.Resampling.BICUBIC)

    def __getitem__(self, index: int) -> tuple:
        pair = self.pairs[index]
        if index not in self.cache:
            image = load_image(pair.image)
            for sibling in self.pairs_of_image[pair.image]:
                self.cache[sibling] = self.view(image, self.pairs[sibling].box)
        if self.contents is None:
            return self.cache[index], self.tokens[index]
        items, image_size = self.contents[pair.image]
        box = pair.box or (0, 0, image_size, image_size)
        return self.cache[index], self.tokens[index], patch_labels(items, box, self.grid)


def collate_pairs(items: list) -> dict[str, torch.Tensor]:
    views, texts, *labels = zip(*items)
    batch = {"images": views_to_pixels(list(views)), "texts": torch.stack(texts)}
    if labels:
        batch["patch_labels"] = torch.stack(labels[0])
    return batch


class ClipWithCellHeads(torch.nn.Module):
    """The CLIP being bootstrapped plus the per-patch heads its dense loss trains."""

    def __init__(self, clip: torch.nn.Module, width: int):
        super().__init__()
        self.clip = clip
        self.cells = CellHeads(width)


def scene_contents(scenes: str | Path, image_root: Path) -> dict[Path, tuple[list, int]]:
    """Image path -> (its shapes and words, image side) for every scene of a scenes.jsonl."""
    out = {}
    for record in read_scenes(scenes, boxes=True):
        image = image_root / record["image"]
        with Image.open(image) as img:
            out[image] = (scene_items(record), img.size[0])
    return out


def make_clip_loss(dense_weight: float = 0.0):
    """open_clip's ClipLoss; on a ClipWithCellHeads also the per-patch label loss."""
    state = PartialState()
    clip_loss = ClipLoss(gather_with_grad=state.num_processes > 1,
                         rank=state.process_index, world_size=state.num_processes)

    def loss(model, batch) -> dict:
        clip = model.clip if isinstance(model, ClipWithCellHeads) else model
        image = clip.encode_image(batch["images"], normalize=True)
        text = clip.encode_text(batch["texts"], normalize=True)
        contrastive = clip_loss(image, text, clip.logit_scale.exp())
        if not isinstance(model, ClipWithCellHeads):
            return {"loss": contrastive}
        cells = model.cells.loss(patch_tokens(clip.visual, batch["images"]), batch["patch_labels"])
        return {"loss": contrastive + dense_weight * cells, "contrastive": contrastive.detach(),
                "cells": cells.detach()}
    return loss


def save_clip(model: torch.nn.Module, config: dict, folder: Path) -> None:
    write_json(folder / BOOTSTRAP_CONFIG, config)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(folder / BOOTSTRAP_WEIGHTS))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = backbone_parser("vtscale bootstrap-clip", __doc__)
    parser.add_argument("--scenes", help="scenes.jsonl: add (crop, region caption) pairs")
    parser.add_argument("--image-root", required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    train_cfg, payload = backbone_config(BootstrapClipConfig, args.cfg, "clip")
    config = clip_config_from_sizes(config_section(VisionConfig, payload, "model.vision"))
    pairs = description_pairs(args.descriptions, Path(args.image_root))
    if args.scenes:
        pairs += region_pairs(args.scenes, Path(args.image_root), train_cfg.seed)
    if train_cfg.max_samples and train_cfg.max_samples < len(pairs):
        pairs = random.Random(train_cfg.seed).sample(pairs, train_cfg.max_samples)
    torch.manual_seed(train_cfg.seed)
    model = open_clip.model.CLIP(**config)
    vision = config["vision_cfg"]
    contents = None
    if train_cfg.dense_weight > 0:
        if not args.scenes:
            raise ConfigError("config error: bootstrap.clip.dense_weight needs --scenes (cell labels)")
        contents = scene_contents(args.scenes, Path(args.image_root))
        model = ClipWithCellHeads(model, vision["width"])
    dataset = ImageTextPairs(pairs, vision["image_size"], contents, vision["image_size"] // vision["patch_size"])
    task = Task(model=model, parameters=list(model.parameters()), dataset=dataset,
                collate=collate_pairs, loss=make_clip_loss(train_cfg.dense_weight), count_tokens=lambda b: 0)
    log.info("bootstrap CLIP: %d pairs, %.2fM parameters, dense weight %g", len(pairs),
             sum(p.numel() for p in model.parameters()) / 1e6, train_cfg.dense_weight)

    def save(trained, folder: Path) -> None:
        save_clip(trained.clip if isinstance(trained, ClipWithCellHeads) else trained, config, folder)

    train_backbone(task, train_cfg, args.ckpt_dir, args.out, "bootstrap_clip", save,
                   inputs=[args.descriptions, args.scenes], pairs=len(pairs))
    return 0
