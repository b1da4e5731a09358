"""``vtscale bootstrap-clip``: demo only. No small pretrained CLIP ships on PyPI, so a
small open_clip CLIP is trained with open_clip's own ``ClipLoss`` on the world's
(global image view, description) pairs and, given ``--scenes``, on (crop, region
caption) pairs from the scene graph (vtscale.train.clip_regions): the crops are the
views the VLM sees, so the ViT learns single shapes and words, not just whole-scene
gist. Output folder (read by vtscale.model.vision):

- ``open_clip_config.json``: kwargs of ``open_clip.model.CLIP(**cfg)``
- ``open_clip_model.safetensors``: that CLIP's state_dict
- ``metrics.csv`` (loss curve), ``summary.json``
- ``gates.json`` (given ``--scenes``): the ViT gate (vtscale.train.vit_gate), whether
  the patch tokens say what lies in each grid cell, with its learning curve
"""

from __future__ import annotations

import argparse
import functools
import math
import logging
import random
from pathlib import Path
from typing import Callable

import numpy as np
import open_clip
import torch
from accelerate import PartialState
from open_clip.loss import ClipLoss
from PIL import Image
from safetensors.torch import save_file
from torch.utils.data import ConcatDataset, Dataset

from vtscale.config import config_section
from vtscale.data import descriptions
from vtscale.data.conversations import load_image
from vtscale.data.scenes import read_scenes
from vtscale.data.synth.config import GRID, WorldConfig
from vtscale.errors import ConfigError, InputError
from vtscale.io import write_json
from vtscale.model.config import VisionConfig
from vtscale.model.vision import (BOOTSTRAP_CONFIG, BOOTSTRAP_WEIGHTS, CLIP_TEXT_CONTEXT,
                                  clip_config_from_sizes)
from vtscale.train.cell_labels import (CellHeads, Item, group_cells, patch_labels, scene_items,
                                      view_cell_labels)
from vtscale.train.clip_regions import Box, ImageText, region_pairs
from vtscale.train.clip_scenes import GeneratedScenes
from vtscale.train.config import BootstrapClipConfig
from vtscale.train.gate_curve import GateCurve, curve_point
from vtscale.train.gates import GATE_FILE, write_gate
from vtscale.train.loop import Task
from vtscale.train.outputs import backbone_config, backbone_parser, train_backbone
from vtscale.train.vit_gate import load_scene_set, normalise_views, probe_figures, vit_gate

log = logging.getLogger(__name__)

GATE_TRAIN_SCENES = 1000              # training scenes the gate's probes learn from


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
    """(view, caption tokens[, patch labels]). Every image is decoded once, up front, into
    an 8-bit RGB tensor (about 0.6 GB for the demo world, where keeping each pair's cut
    view as a PIL image held 6.8 GB); a view is cut from it and resized bicubic (PIL) per
    item, and normalised per batch exactly as the VLM normalises its views. With
    ``contents`` (image -> its shapes and words, vtscale.train.cell_labels) every item
    also carries the labels ``label_view(items, box)`` of its view (per patch or per cell)."""

    def __init__(self, pairs: list[ImageText], view_size: int,
                 contents: dict[Path, tuple[list, int]] | None = None,
                 label_view: Callable[[list[Item], Box], torch.Tensor] | None = None):
        self.pairs = pairs
        self.view_size = view_size
        self.contents, self.label_view = contents, label_view
        self.tokens = open_clip.tokenizer.SimpleTokenizer(context_length=CLIP_TEXT_CONTEXT)(
            [pair.text for pair in pairs])
        images = list(dict.fromkeys(pair.image for pair in pairs))
        index = {image: i for i, image in enumerate(images)}
        self.image_of = [index[pair.image] for pair in pairs]
        self.pixels = [torch.from_numpy(np.array(load_image(image))) for image in images]   # [H, W, 3]

    def __len__(self) -> int:
        return len(self.pairs)

    def view(self, index: int) -> torch.Tensor:
        """[3, view, view] uint8: the pair's crop of its image, resized."""
        pixels, box = self.pixels[self.image_of[index]], self.pairs[index].box
        height, width = pixels.shape[:2]
        if box is None or box == (0, 0, width, height):
            if (height, width) == (self.view_size, self.view_size):
                return pixels.permute(2, 0, 1)
            box = (0, 0, width, height)
        image = Image.fromarray(pixels.numpy()).crop(box)
        image = image.resize((self.view_size, self.view_size), Image.Resampling.BICUBIC)
        return torch.from_numpy(np.array(image)).permute(2, 0, 1)

    def __getitem__(self, index: int) -> tuple:
        pair = self.pairs[index]
        if self.contents is None:
            return self.view(index), self.tokens[index]
        items, image_size = self.contents[pair.image]
        box = pair.box or (0, 0, image_size, image_size)
        return self.view(index), self.tokens[index], self.label_view(items, box)


def collate_pairs(items: list) -> dict[str, torch.Tensor]:
    views, texts, *labels = zip(*items)
    batch = {"images": normalise_views(torch.stack(views)), "texts": torch.stack(texts)}
    if labels:
        batch["patch_labels"] = torch.stack(labels[0])
    return batch


class ClipWithCellHeads(torch.nn.Module):
    """The CLIP being bootstrapped plus the heads its dense loss trains: on each patch
    token, or (``cells`` > 0) on each of the view's ``cells`` x ``cells`` cells, its patch
    tokens concatenated (what one merged token of the VLM sees)."""

    def __init__(self, clip: torch.nn.Module, width: int, cells: int = 0, balanced: bool = False):
        super().__init__()
        self.clip, self.cell_grid = clip, cells
        side = clip.visual.grid_size[0]
        self.cells = CellHeads(width * (side // cells) ** 2 if cells else width, balanced)

    def dense_loss(self, patches: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.cells.loss(group_cells(patches, self.cell_grid) if self.cell_grid else patches, labels)


def view_labeller(kind: str, patches: int) -> Callable[[list[Item], Box], torch.Tensor]:
    """The dense labels of a view: per patch (``patch``) or per grid cell (``cell``)."""
    if kind == "cell":
        return functools.partial(view_cell_labels, cells=GRID)
    return functools.partial(patch_labels, grid=patches)


def generated_scenes(payload: dict, cfg: BootstrapClipConfig, view_size: int,
                     label_view: Callable[[list[Item], Box], torch.Tensor] | None) -> GeneratedScenes:
    if not isinstance(payload.get("world"), dict):
        raise ConfigError("config error: bootstrap.clip.extra_scenes needs the world section "
                          "(the generator's settings) in --cfg")
    world = config_section(WorldConfig, payload, "world")
    return GeneratedScenes(world, cfg.seed, cfg.extra_scenes, view_size, label_view)


def scene_contents(scenes: str | Path, image_root: Path) -> dict[Path, tuple[list, int]]:
    """Image path -> (its shapes and words, image side) for every scene of a scenes.jsonl."""
    out = {}
    for record in read_scenes(scenes, boxes=True):
        image = image_root / record["image"]
        with Image.open(image) as img:
            out[image] = (scene_items(record), img.size[0])
    return out


def image_and_patch_tokens(visual: torch.nn.Module, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One ViT pass for both losses: the normalised image embedding (encode_image) and
    the patch tokens (vtscale.model.vision.patch_tokens)."""
    out = visual.forward_intermediates(pixels, indices=1, output_fmt="NLC")
    return torch.nn.functional.normalize(out["image_features"], dim=-1), out["image_intermediates"][-1]


def make_clip_loss(dense_weight: float = 0.0):
    """open_clip's ClipLoss; on a ClipWithCellHeads also the dense (per patch or per cell) label loss."""
    state = PartialState()
    clip_loss = ClipLoss(gather_with_grad=state.num_processes > 1,
                         rank=state.process_index, world_size=state.num_processes)

    def loss(model, batch) -> dict:
        clip = model.clip if isinstance(model, ClipWithCellHeads) else model
        text = clip.encode_text(batch["texts"], normalize=True)
        if not isinstance(model, ClipWithCellHeads):
            image = clip.encode_image(batch["images"], normalize=True)
            return {"loss": clip_loss(image, text, clip.logit_scale.exp())}
        image, patches = image_and_patch_tokens(clip.visual, batch["images"])
        contrastive = clip_loss(image, text, clip.logit_scale.exp())
        cells = model.dense_loss(patches, batch["patch_labels"])
        return {"loss": contrastive + dense_weight * cells, "contrastive": contrastive.detach(),
                "cells": cells.detach()}
    return loss


def gate_scenes(scenes: str | Path, image_root: Path, pairs: list[ImageText]) -> tuple[list, list]:
    """Training scenes for the gate's probes, and the scenes they are scored on: those
    whose images no training pair shows (the world's benchmark scenes)."""
    trained = {pair.image for pair in pairs}
    records = read_scenes(scenes, boxes=True)
    held_out = [r for r in records if r["split"] != "train" and image_root / r["image"] not in trained]
    if not held_out:
        raise InputError(f"{scenes}: no scene outside the training ones to score the ViT gate on")
    return [r for r in records if r["split"] == "train"][:GATE_TRAIN_SCENES], held_out


class ViTGateRun:
    """The ViT gate (vtscale.train.vit_gate) of the CLIP being trained: measured every
    ``every`` steps during training (its learning curve) and once trained, each time
    the same way, so the curve ends at the gate's figures."""

    def __init__(self, visual: torch.nn.Module, scenes: tuple[list, list], image_root: Path,
                 view_size: int, every: int, last_step: int, ckpt_dir: str | Path):
        self.visual, self.last_step = visual, last_step
        self.train, self.held_out = (load_scene_set(records, image_root, view_size) for records in scenes)
        self.curve = GateCurve(self.measure, every, ckpt_dir, skip=last_step)

    def measure(self) -> dict[str, float]:
        figures = probe_figures(self.visual, self.train, self.held_out)
        log.info("ViT gate: %s", {k: round(v, 3) for k, v in figures.items()})
        return figures

    def write(self, path: Path) -> None:
        gate = vit_gate(self.visual, self.train, self.held_out, curve=self.curve.points())
        gate.curve.append(curve_point(self.last_step, {k: f.value for k, f in gate.figures.items()}))
        write_gate(path, gate)


def save_clip(model: torch.nn.Module, config: dict, folder: Path) -> None:
    write_json(folder / BOOTSTRAP_CONFIG, config)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(folder / BOOTSTRAP_WEIGHTS))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = backbone_parser("vtscale bootstrap-clip", __doc__)
    parser.add_argument("--scenes", help="scenes.jsonl: add (crop, region caption) pairs")
    parser.add_argument("--image-root", required=True,
                        help="folder the image paths of --descriptions and --scenes are relative to")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    train_cfg, payload = backbone_config(BootstrapClipConfig, args.cfg, "clip")
    config = clip_config_from_sizes(config_section(VisionConfig, payload, "model.vision"))
    pairs = description_pairs(args.descriptions, Path(args.image_root))
    if args.scenes:
        pairs += region_pairs(args.scenes, Path(args.image_root), train_cfg.seed, train_cfg.crops)
    if train_cfg.max_samples and train_cfg.max_samples < len(pairs):
        pairs = random.Random(train_cfg.seed).sample(pairs, train_cfg.max_samples)
    torch.manual_seed(train_cfg.seed)
    clip = open_clip.model.CLIP(**config)
    vision = config["vision_cfg"]
    model, contents = clip, None
    if train_cfg.dense_weight > 0:
        if not args.scenes:
            raise ConfigError("config error: bootstrap.clip.dense_weight needs --scenes (cell labels)")
        contents = scene_contents(args.scenes, Path(args.image_root))
        cells = GRID if train_cfg.dense_labels == "cell" else 0
        model = ClipWithCellHeads(clip, vision["width"], cells, train_cfg.dense_balanced)
    label_view = view_labeller(train_cfg.dense_labels, vision["image_size"] // vision["patch_size"])
    dataset = ImageTextPairs(pairs, vision["image_size"], contents, label_view)
    if train_cfg.extra_scenes:
        dataset = ConcatDataset([dataset, generated_scenes(payload, train_cfg, vision["image_size"],
                                                           label_view if contents else None)])
    task = Task(model=model, parameters=list(model.parameters()), dataset=dataset,
                collate=collate_pairs, loss=make_clip_loss(train_cfg.dense_weight), count_tokens=lambda b: 0)
    log.info("bootstrap CLIP: %d pairs, %d generated scenes, %.2fM parameters, dense weight %g",
             len(pairs), train_cfg.extra_scenes, sum(p.numel() for p in model.parameters()) / 1e6,
             train_cfg.dense_weight)
    gate = None
    if args.scenes:
        last_step = train_cfg.total_steps(math.ceil(math.ceil(len(dataset) / train_cfg.batch_size)
                                                    / train_cfg.grad_accum))
        gate = ViTGateRun(clip.visual, gate_scenes(args.scenes, Path(args.image_root), pairs),
                          Path(args.image_root), vision["image_size"], train_cfg.gate_every,
                          last_step, args.ckpt_dir)

    def save(trained, folder: Path) -> None:
        save_clip(trained.clip if isinstance(trained, ClipWithCellHeads) else trained, config, folder)
        if gate:
            gate.write(folder / GATE_FILE)

    train_backbone(task, train_cfg, args.ckpt_dir, args.out, "bootstrap_clip", save,
                   inputs=[args.descriptions, args.scenes], on_step=gate.curve if gate else None,
                   pairs=len(pairs), generated_scenes=train_cfg.extra_scenes)
    return 0
