"""The ViT gate (vtscale.train.vit_gate) of a bootstrap CLIP folder, as bootstrap-clip
measures it after training.

    python experiments/vit_gate.py results/demo/models/bootstrap_clip [--data data/demo]
        [--train-scenes 1000] [--steps 500] [--by-size]

Prints the held-out per-cell probe accuracy for colour, kind and word and the seconds
it took; with --by-size also the kind accuracy over small and over large shapes.
"""
import argparse
import json
import time
from pathlib import Path

import torch
import yaml
from PIL import Image

from vtscale.config import config_section
from vtscale.data.scenes import read_scenes
from vtscale.model.config import VisionConfig
from vtscale.model.vision import build_clip, open_clip_config
from vtscale.data.synth.config import GRID
from vtscale.train.cell_labels import FIELDS
from vtscale.train.vit_gate import ProbeSettings, cell_features, load_scene_set, probe_accuracies, vit_gate


def sizes(records: list[dict], image_size: int) -> torch.Tensor:
    """[scenes * cells]: 1 where the cell holds a small shape, 2 a large one, else 0."""
    out = torch.zeros(len(records), GRID * GRID, dtype=torch.long)
    side = image_size / GRID
    for i, record in enumerate(records):
        for o in record["objects"]:
            x0, y0, x1, y1 = o["bbox"]
            out[i, int((y0 + y1) / 2 // side) * GRID + int((x0 + x1) / 2 // side)] = 1 if o["size"] == "small" else 2
    return out.flatten()


def kind_by_size(visual, train, held_out, records, image_size, settings) -> dict[str, float]:
    train_x, test_x = (cell_features(visual, s.views).flatten(0, 1) for s in (train, held_out))
    train_y, test_y = (s.labels.transpose(1, 2).flatten(0, 1) for s in (train, held_out))
    kind, size = list(FIELDS).index("kind"), sizes(records, image_size)
    out = {}
    for code, name in ((1, "small"), (2, "large")):
        masked = test_y.clone()
        masked[size != code, kind] = 0
        out[name] = round(probe_accuracies(train_x, train_y, test_x, masked, settings)["kind"], 4)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clip")
    p.add_argument("--data", default="data/demo")
    p.add_argument("--config", default="config/demo.yaml")
    p.add_argument("--train-scenes", type=int, default=1000)
    p.add_argument("--steps", type=int, default=ProbeSettings.steps)
    p.add_argument("--lr", type=float, default=ProbeSettings.lr)
    p.add_argument("--by-size", action="store_true")
    args = p.parse_args()
    vision = config_section(VisionConfig, yaml.safe_load(open(args.config)), "model.vision")
    clip = build_clip(open_clip_config(vision, args.clip, False), vision, args.clip, True)
    records = read_scenes(f"{args.data}/scenes.jsonl", boxes=True)
    began = time.perf_counter()
    train = load_scene_set([r for r in records if r["split"] == "train"][:args.train_scenes],
                           Path(args.data), vision.view_size)
    held_records = [r for r in records if r["split"] != "train"]
    held_out = load_scene_set(held_records, Path(args.data), vision.view_size)
    loaded = time.perf_counter()
    gate = vit_gate(clip.visual, train, held_out, ProbeSettings(args.steps, args.lr))
    print(json.dumps({k: round(f.value, 4) for k, f in gate.figures.items()}),
          f"load {loaded - began:.1f} s, probe {time.perf_counter() - loaded:.1f} s, "
          f"{torch.get_num_threads()} threads")
    if args.by_size:
        size = load_image_size(Path(args.data) / held_records[0]["image"])
        print("kind by size:", kind_by_size(clip.visual, train, held_out, held_records, size,
                                            ProbeSettings(args.steps, args.lr)))


def load_image_size(path: Path) -> int:
    with Image.open(path) as image:
        return image.size[0]


if __name__ == "__main__":
    main()
