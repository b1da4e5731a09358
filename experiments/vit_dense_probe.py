"""How well the demo ViT can learn what each grid cell holds, and what limits it: the
ViT alone trained on bootstrap-clip's balanced per-cell loss over fresh scenes of the
world's generator (no text tower), with the world's small-shape radius and word font
overridable, then the ViT gate's probes (1,000 generated scenes, scored on 300 others).

    python experiments/vit_dense_probe.py [--steps 1000] [--small-radius 17 22]
        [--word-font 36] [--layers 4]

Radii and font are at 448 px (vtscale.data.synth.scene.RADII, render.WORD_FONT_PX).
Prints colour/kind/word every 500 steps.
"""
import argparse
import math

import numpy as np
import open_clip
import torch
import yaml

from vtscale.config import config_section
from vtscale.data.synth import render, scene
from vtscale.data.synth.config import WorldConfig
from vtscale.model.config import VisionConfig
from vtscale.model.vision import clip_config_from_sizes, patch_tokens
from vtscale.train.cell_labels import CellHeads, group_cells, scene_items, view_cell_labels
from vtscale.train.vit_gate import ProbeSettings, SceneSet, normalise_views, probe_figures


def generated(world: WorldConfig, stream: str, start: int, count: int) -> SceneSet:
    place, size = render.word_origin(world.image_size), world.image_size
    views, labels = [], []
    for i in range(start, start + count):
        s = scene.sample_scene(scene.item_rng(0, stream, i), world, "x", stream, word_origin=place)
        views.append(torch.from_numpy(np.array(render.draw_scene(s, size))).permute(2, 0, 1))
        labels.append(view_cell_labels(scene_items(render.scene_record(s, size)), (0, 0, size, size), 4))
    return SceneSet(torch.stack(views), torch.stack(labels))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--small-radius", type=int, nargs=2)
    p.add_argument("--word-font", type=int)
    p.add_argument("--layers", type=int)
    args = p.parse_args()
    if args.small_radius:
        scene.RADII["small"] = tuple(args.small_radius)
    if args.word_font:
        render.WORD_FONT_PX = args.word_font
    demo = yaml.safe_load(open("config/demo.yaml"))
    if args.layers:
        demo["model"]["vision"]["layers"] = args.layers
    vision = config_section(VisionConfig, demo, "model.vision")
    world = config_section(WorldConfig, demo, "world")
    probe_train, held_out = generated(world, "probe", 0, 1000), generated(world, "held_out", 0, 300)
    torch.manual_seed(0)
    visual = open_clip.model.CLIP(**clip_config_from_sizes(vision)).visual
    heads = CellHeads(vision.width * (vision.patches_per_side // 4) ** 2, balanced=True)
    params = list(visual.parameters()) + list(heads.parameters())
    optimizer = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.0)
    warm = 0.05 * args.steps
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1, s / warm) * 0.5 * (
        1 + math.cos(math.pi * min(s, args.steps) / args.steps)))
    for step in range(1, args.steps + 1):
        batch = generated(world, "train", (step - 1) * 32, 32)
        loss = heads.loss(group_cells(patch_tokens(visual, normalise_views(batch.views)), 4), batch.labels)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        if step % 500 == 0 or step == args.steps:
            figures = probe_figures(visual, probe_train, held_out, ProbeSettings(500))
            print(f"step {step} loss {loss.item():.3f}", {k: round(v, 3) for k, v in figures.items()}, flush=True)


if __name__ == "__main__":
    main()
