"""What a bootstrap ViT's patch tokens say, linearly, about colour, kind and word.

    python experiments/feature_probe.py results/demo/models/bootstrap_clip [--cells]

Frozen patch tokens of 2,000 training scenes (training) and 300 benchmark scenes
(scoring). Per field, a class-balanced linear probe on standardised tokens (Adam, full
batch, 1,000 steps); accuracy over the patches that show something (labels as
bootstrap-clip's dense loss defines them), or with --cells over the grid cells that
hold something, each cell's four patches concatenated.
"""
import argparse
import json

import torch
import yaml
from torch import nn

from vtscale.data.conversations import load_image
from vtscale.config import config_section
from vtscale.model.config import VisionConfig
from vtscale.model.vision import build_clip, open_clip_config, patch_tokens, views_to_pixels
from vtscale.train.cell_labels import FIELDS, patch_labels, scene_items


def cell_labels(record, image_size, grid=4):
    labels = torch.zeros(len(FIELDS), grid * grid, dtype=torch.long)
    side = image_size / grid
    for box, classes in scene_items(record):
        cell = int((box[1] + box[3]) / 2 // side) * grid + int((box[0] + box[2]) / 2 // side)
        for k, c in enumerate(classes):
            if c:
                labels[k, cell] = c
    return labels


def data(clip, vision, records, root, cells):
    with torch.no_grad():
        x = torch.cat([patch_tokens(clip.visual, views_to_pixels(
            [load_image(f"{root}/{r['image']}").resize((vision.view_size,) * 2) for r in records[i:i + 200]]))
            for i in range(0, len(records), 200)])
    size = load_image(f"{root}/{records[0]['image']}").size[0]
    if not cells:
        y = torch.stack([patch_labels(scene_items(r), (0, 0, size, size), vision.patches_per_side) for r in records])
        return x, y
    g = vision.patches_per_side
    x = x.view(-1, g, g, x.shape[-1]).permute(0, 3, 1, 2)
    x = torch.cat([x[:, :, i::2, j::2] for i in (0, 1) for j in (0, 1)], 1).flatten(2).transpose(1, 2)
    return x, torch.stack([cell_labels(r, size) for r in records])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clip")
    p.add_argument("--cells", action="store_true")
    p.add_argument("--data", default="data/demo")
    args = p.parse_args()
    torch.manual_seed(0)
    vision = config_section(VisionConfig, yaml.safe_load(open("config/demo.yaml")), "model.vision")
    clip = build_clip(open_clip_config(vision, args.clip, False), vision, args.clip, True).eval()
    records = [json.loads(line) for line in open(f"{args.data}/scenes.jsonl")]
    xtr, ytr = data(clip, vision, [r for r in records if r["split"] == "train"][:2000], args.data, args.cells)
    xte, yte = data(clip, vision, [r for r in records if r["split"] != "train"][:300], args.data, args.cells)
    x, mean, std = xtr.flatten(0, 1), xtr.flatten(0, 1).mean(0), xtr.flatten(0, 1).std(0) + 1e-5
    x = (x - mean) / std
    for k, name in enumerate(FIELDS):
        y = ytr[:, k].flatten()
        freq = torch.bincount(y, minlength=len(FIELDS[name])).float().clamp(min=1)
        head = nn.Linear(x.shape[-1], len(FIELDS[name]))
        opt = torch.optim.Adam(head.parameters(), 1e-2)
        for _ in range(1000):
            loss = nn.functional.cross_entropy(head(x), y, weight=(1 / freq) / (1 / freq).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            pred = head((xte.flatten(0, 1) - mean) / std).argmax(-1)
        truth = yte[:, k].flatten()
        shown = truth > 0
        print(f"{name}: {(pred[shown] == truth[shown]).float().mean():.3f} on {int(shown.sum())} "
              f"{'cells' if args.cells else 'patches'} that show one (chance {1 / (len(FIELDS[name]) - 1):.3f})")


if __name__ == "__main__":
    main()
