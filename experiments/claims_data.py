"""Training-data variants behind the demo's ``world.existence_claims`` (docs/experiments.md,
2026-12-07, "Teaching stage 1 the yes/no kinds"). From a finished demo run:

    python experiments/claims_data.py results/demo/data/train.json data/demo OUT_DIR

writes to OUT_DIR, every file without the 600 probe images (seeded; `s1_retrieval`
in stage1_variant.sh asks their questions):
  mixture.json        the demo's stage-1/2 data
  focus_existence.json  only its existence questions
  drill.json          every colour-and-kind name of each scene, as many "No" as "Yes"
  mixture_claims_all.json  mixture + drill
  mixture_claims_1.json    mixture + one "Yes" and one "No" claim per scene
  mixture_words.json  mixture + "What word is written <where>?" on every word of each scene
                      whose words lie in different regions (the reading questions' own form)
  probe_images.json   the 600 probe images' records
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from vtscale.data.question_kinds import question_kind
from vtscale.data.synth.vocab import COLORS, KINDS, REGION_PHRASES, article, region
from vtscale.prompts import SHORT_ANSWER_SUFFIX

PROBE_IMAGES = 600
CELL_PIXELS = 56      # the demo world's 224-pixel scenes in a 4 x 4 grid


def pairs(record: dict) -> list[tuple[dict, dict]]:
    conv = record["conversations"]
    return list(zip(conv[::2], conv[1::2]))


def with_pairs(record: dict, kept: list[tuple[dict, dict]], suffix: str = "") -> dict:
    return {**record, "id": record["id"] + suffix, "conversations": [m for p in kept for m in p]}


def drill(scene: dict, rng: random.Random) -> list[tuple[dict, dict]]:
    present = {f"{o['color']} {o['kind']}" for o in scene["objects"]}
    names = [f"{c} {k}" for c in COLORS for k in KINDS]
    absent = rng.sample([n for n in names if n not in present], min(len(present), len(names) - len(present)))
    asked = [(n, "Yes") for n in sorted(present)] + [(n, "No") for n in absent]
    rng.shuffle(asked)
    return [({"from": "human", "value": f"Is there {article(n)} {n} in the image?"},
             {"from": "gpt", "value": a}) for n, a in asked]


def word_drill(scene: dict) -> list[tuple[dict, dict]]:
    """A reading question on each word, worded as the world's reading facts are."""
    words = scene["words"]
    where = [region(((w["bbox"][1] + w["bbox"][3]) // 2 // CELL_PIXELS,
                     (w["bbox"][0] + w["bbox"][2]) // 2 // CELL_PIXELS)) for w in words]
    if len(set(where)) < len(words):
        return []
    phrases = ["in the image"] if len(words) == 1 else [REGION_PHRASES[r] for r in where]
    return [({"from": "human", "value": f"What word is written {p}?{SHORT_ANSWER_SUFFIX}"},
             {"from": "gpt", "value": w["text"]}) for w, p in zip(words, phrases)]


def main(train_json: str, data_dir: str, out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = json.loads(Path(train_json).read_text())
    images = sorted({r["image"] for r in records})
    probe = set(random.Random(0).sample(images, PROBE_IMAGES))
    mixture = [r for r in records if r["image"] not in probe]
    scenes = [json.loads(line) for line in (Path(data_dir) / "scenes.jsonl").read_text().splitlines()]
    scenes = [s for s in scenes if s["split"] == "train" and s["image"] not in probe]
    rng = random.Random(0)
    drills = [with_pairs(s, drill(s, rng), "_claims") for s in scenes]
    one_each = [with_pairs(d, [next(p for p in pairs(d) if p[1]["value"] == a) for a in ("Yes", "No")])
                for d in drills]
    files = {
        "mixture.json": mixture,
        "focus_existence.json": [with_pairs(r, [p for p in pairs(r) if question_kind(p[0]["value"]) == "existence"])
                                 for r in mixture if any(question_kind(p[0]["value"]) == "existence" for p in pairs(r))],
        "drill.json": drills,
        "mixture_claims_all.json": mixture + drills,
        "mixture_claims_1.json": mixture + one_each,
        "mixture_words.json": mixture + [with_pairs(s, drilled, "_words") for s in scenes
                                         if (drilled := word_drill(s))],
        "probe_images.json": [r for r in records if r["image"] in probe],
    }
    for name, rows in files.items():
        (out / name).write_text(json.dumps(rows))
        print(f"{name}: {len(rows)} records, {sum(len(pairs(r)) for r in rows)} questions")


if __name__ == "__main__":
    main(*sys.argv[1:4])
