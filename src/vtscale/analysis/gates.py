"""``vtscale collect-gates``: the stand-ins' gate files (vtscale.train.gates) of one run, as
the numbers ``dvc metrics show`` lists (``metrics/gates.json``: gate -> figure -> value,
with ``<figure>_target`` beside each gated figure) and as one file the report reads
(``gates.json``: the gate documents with their learning curves)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from vtscale.io import write_json
from vtscale.train.gates import read_gate


def metric_numbers(gates: list[dict]) -> dict[str, dict[str, float]]:
    """Gate -> {figure: value, figure_target: target} for DVC (missing values left out)."""
    numbers: dict[str, dict[str, float]] = {}
    for gate in gates:
        row = numbers.setdefault(gate["gate"], {})
        for name, figure in gate["figures"].items():
            if figure["value"] is not None and math.isfinite(figure["value"]):
                row[name] = round(float(figure["value"]), 4)
            if figure.get("target") is not None:
                row[f"{name}_target"] = round(float(figure["target"]), 4)
    return numbers


def below_target(gate: dict) -> list[str]:
    return [name for name, figure in gate["figures"].items() if figure.get("passed") is False]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale collect-gates", description=__doc__.splitlines()[0])
    parser.add_argument("gates", nargs="*", type=Path, help="gates.json files of the run's models")
    parser.add_argument("--metrics", required=True, type=Path, help="DVC metrics file to write")
    parser.add_argument("--out", required=True, type=Path, help="all gates with their curves")
    args = parser.parse_args(argv)
    gates = [read_gate(path) for path in args.gates]
    write_json(args.metrics, metric_numbers(gates))
    write_json(args.out, gates)
    return 0
