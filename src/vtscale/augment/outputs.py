"""What every augmentation stage writes: its LLaVA conversations, its stats and, with
``--throughput``, the items it processed per second; and the options that name them."""

from __future__ import annotations

import argparse
from pathlib import Path

from vtscale.data.conversations import write_llava
from vtscale.io import write_json, write_throughput


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="LLaVA json of the kept conversations")
    parser.add_argument("--stats", required=True, type=Path, help="JSON of what was generated, kept and dropped")
    parser.add_argument("--throughput", type=Path, default=None, help="JSON of items per second (optional)")


def write_outputs(args: argparse.Namespace, conversations: list[dict], stats: dict,
                  unit: str, count: int, seconds: float) -> None:
    write_llava(args.out, conversations)
    write_json(args.stats, stats)
    if args.throughput:
        write_throughput(args.throughput, unit, count, seconds)
