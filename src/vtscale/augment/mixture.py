"""``vtscale mixture``: merge LLaVA-format training sources into one training set and
draw the fixed, seeded stage-3 subset (paper §4.4: a random 10% of the training data)."""

from __future__ import annotations

import argparse
import logging
import math
import random
from pathlib import Path

from vtscale.augment.config import parse_cfg
from vtscale.data.conversations import read_llava, write_llava
from vtscale.errors import InputError
from vtscale.io import write_json

log = logging.getLogger(__name__)


def load_source(name: str, path: Path) -> list[dict]:
    return [{**record, "source": name} for record in read_llava(path)]


def parse_source(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"--source expects NAME=PATH, got {text!r}")
    return name, Path(path)


def stage3_subset(records: list[dict], fraction: float, seed: int) -> list[dict]:
    """A seeded random ``fraction`` of ``records`` (at least one), in training order."""
    if not records:
        return []
    size = max(1, math.ceil(fraction * len(records)))
    chosen = sorted(random.Random(seed).sample(range(len(records)), size))
    return [records[i] for i in chosen]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vtscale mixture", description=__doc__)
    ap.add_argument("--cfg", required=True, help="JSON with the augment section and seed")
    ap.add_argument("--source", action="append", type=parse_source, required=True,
                    metavar="NAME=PATH", help="a LLaVA-format json; repeatable")
    ap.add_argument("--out", required=True, type=Path, help="LLaVA json of the merged training set")
    ap.add_argument("--stage3-out", required=True, type=Path, help="LLaVA json of the seeded stage-3 subset")
    ap.add_argument("--stats", required=True, type=Path, help="JSON of the record counts per source, in all and in the stage-3 subset")
    args = ap.parse_args(argv)

    cfg, seed = parse_cfg(args.cfg)
    names = [name for name, _ in args.source]
    if len(set(names)) != len(names):
        raise InputError(f"--source names must be unique, got {names}")
    merged, per_source = [], {}
    for name, path in args.source:
        records = load_source(name, path)
        per_source[name] = len(records)
        merged += records
    if not merged:
        raise InputError("every --source is empty; nothing to train on")
    subset = stage3_subset(merged, cfg.mixture.stage3_fraction, seed)
    write_llava(args.out, merged)
    write_llava(args.stage3_out, subset)
    stats = {"total": len(merged), "per_source": per_source, "stage3": len(subset),
             "stage3_fraction": cfg.mixture.stage3_fraction, "seed": seed,
             "stage3_per_source": {n: sum(r["source"] == n for r in subset) for n in names}}
    write_json(args.stats, stats)
    log.info("mixture: %d records %s, stage-3 subset %d", len(merged), per_source, len(subset))
    return 0
