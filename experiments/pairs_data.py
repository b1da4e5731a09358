"""A finished demo run's stage-1/2 data plus the yes/no pairs ``world.yes_no_pairs`` would
add (docs/experiments.md, 2026-12-07 night). From the root of that run:

    python experiments/pairs_data.py count,color,reading OUT.json

re-derives the world's conversations with the option (the same per-scene random
streams: every existing turn is kept, the pairs come after), checks that, and appends
the new turns to results/demo/data/train.json's scene records.
"""

from __future__ import annotations

import json
import sys

import yaml

from vtscale.config import config_section
from vtscale.data.synth import language
from vtscale.data.synth.config import WorldConfig
from vtscale.data.synth.run import build_scenes
from vtscale.data.synth.scene import item_rng


def added_turns(config: dict, aspects: list[str]) -> dict[str, list[dict]]:
    """Scene id -> the messages the pairs add to its conversation."""
    cfg = config_section(WorldConfig, {"world": {**config["world"], "yes_no_pairs": aspects}}, "world")
    seed = config["seed"]
    old = {r["id"]: r["conversations"] for r in json.load(open(f"{config['data_dir']}/conversations.json"))}
    train, _, _ = build_scenes(cfg, seed)
    extra = {}
    for i, scene in enumerate(train):
        new = language.conversation(scene, item_rng(seed, "chat", i), cfg.aspects, cfg.turns,
                                    existence_claims_per_answer=cfg.existence_claims,
                                    read_every_word=cfg.read_every_word, pair_aspects=cfg.yes_no_pairs)
        before = old[scene.id]
        if new[:len(before)] != before:
            raise SystemExit(f"{scene.id}: the re-derived conversation does not start with the run's")
        extra[scene.id] = new[len(before):]
    return extra


def main(aspects: str, out: str) -> None:
    config = yaml.safe_load(open("config/demo.yaml"))
    extra = added_turns(config, aspects.split(","))
    records = json.load(open(f"{config['results_dir']}/data/train.json"))
    for record in records:
        record["conversations"] = record["conversations"] + extra.get(record["id"], [])
    json.dump(records, open(out, "w"))
    print(f"{out}: {sum(len(t) for t in extra.values()) // 2} turns added to {len(extra)} scenes")


if __name__ == "__main__":
    main(*sys.argv[1:3])
