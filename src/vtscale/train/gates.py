"""Gates: measured figures that say whether a demo stand-in does its backbone's job
(the LLM reads its context, the ViT's patch tokens say what is where, stage 2 teaches
every question kind), each against a target.

A gate file is JSON ``{"gate": NAME, "figures": {FIGURE: {"value", "target",
"passed"}}, "curve": [{"step": S, FIGURE: value, ...}, ...], "note": TEXT}``; the report
and ``dvc metrics`` read it. A figure below its target is a WARNING in the log, not an
error: the targets are goals, and the run goes on.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from vtscale.errors import InputError
from vtscale.io import read_json, write_json

log = logging.getLogger(__name__)

GATE_FILE = "gates.json"


@dataclass(frozen=True)
class Figure:
    value: float
    target: float | None = None     # None: reported, not gated (e.g. the image-blind side)

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return math.isfinite(self.value) and self.value >= self.target


@dataclass
class Gate:
    name: str
    figures: dict[str, Figure]
    curve: list[dict] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict:
        figures = {k: {"value": _finite(f.value), "target": f.target, "passed": f.passed}
                   for k, f in self.figures.items()}
        return {"gate": self.name, "figures": figures, "curve": self.curve, "note": self.note}

    def warn_below_target(self) -> None:
        for key, figure in self.figures.items():
            if figure.passed is False:
                log.warning("gate %s: %s = %.3f is below its target %.2f", self.name, key,
                            figure.value, figure.target)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def write_gate(path: str | Path, gate: Gate) -> None:
    """Write the gate file and warn about every figure below its target."""
    write_json(path, gate.to_dict())
    gate.warn_below_target()


def read_gate(path: str | Path) -> dict:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("figures"), dict):
        raise InputError(f"{path}: expected a gate file with a 'figures' object")
    for key, figure in data["figures"].items():
        if not isinstance(figure, dict) or "value" not in figure:
            raise InputError(f"{path}: figures.{key}: expected an object with 'value'")
    return data
