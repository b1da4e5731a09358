"""The ViT gate (vtscale.train.vit_gate) of a bootstrap CLIP folder, as bootstrap-clip
measures it after training.

    python experiments/vit_gate.py results/demo/models/bootstrap_clip [--data data/demo]
        [--train-scenes 1000] [--steps 300]

Prints the held-out per-cell probe accuracy for colour, kind and word and the seconds
it took.
"""
import argparse
import json
import time
from pathlib import Path

import torch
import yaml

from vtscale.config import config_section
from vtscale.data.scenes import read_scenes
from vtscale.model.config import VisionConfig
from vtscale.model.vision import build_clip, open_clip_config
from vtscale.train.vit_gate import ProbeSettings, load_scene_set, vit_gate


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clip")
    p.add_argument("--data", default="data/demo")
    p.add_argument("--config", default="config/demo.yaml")
    p.add_argument("--train-scenes", type=int, default=1000)
    p.add_argument("--steps", type=int, default=ProbeSettings.steps)
    p.add_argument("--lr", type=float, default=ProbeSettings.lr)
    args = p.parse_args()
    vision = config_section(VisionConfig, yaml.safe_load(open(args.config)), "model.vision")
    clip = build_clip(open_clip_config(vision, args.clip, False), vision, args.clip, True)
    records = read_scenes(f"{args.data}/scenes.jsonl", boxes=True)
    began = time.perf_counter()
    train = load_scene_set([r for r in records if r["split"] == "train"][:args.train_scenes],
                           Path(args.data), vision.view_size)
    held_out = load_scene_set([r for r in records if r["split"] != "train"], Path(args.data),
                              vision.view_size)
    loaded = time.perf_counter()
    gate = vit_gate(clip.visual, train, held_out, ProbeSettings(args.steps, args.lr))
    print(json.dumps({k: round(f.value, 4) for k, f in gate.figures.items()}),
          f"load {loaded - began:.1f} s, probe {time.perf_counter() - loaded:.1f} s, "
          f"{torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
