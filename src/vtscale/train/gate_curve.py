"""A gate's learning curve: its figures measured every few optimizer steps during
training, kept in a file of the checkpoint folder so that a run resumed after a kill
still reports the points measured before it (the gate file's ``curve``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

from accelerate import PartialState

CURVE_FILE = "gate_curve.jsonl"

Measure = Callable[[], dict[str, float]]


def curve_point(step: int, figures: dict[str, float]) -> dict:
    """``{"step": step, figure: value}``, values rounded, a non-finite one null."""
    return {"step": step, **{k: round(v, 4) if math.isfinite(v) else None for k, v in figures.items()}}


class GateCurve:
    """An ``on_step`` hook (vtscale.train.loop.train): every ``every`` steps but ``skip``
    (the last, which the final gate measures) the main process appends a curve point
    of ``measure()`` to ``folder/gate_curve.jsonl``."""

    def __init__(self, measure: Measure, every: int, folder: str | Path, skip: int | None = None):
        self.measure, self.every, self.skip = measure, every, skip
        self.path = Path(folder) / CURVE_FILE
        self.started = False

    def __call__(self, step: int, row: dict) -> None:
        if not PartialState().is_main_process:
            return
        if not self.started:
            # Points at or after this run's first step come from a run that was not
            # resumed here (killed before its checkpoint, or other settings): drop them.
            self.write([point for point in self.points() if point["step"] < step])
            self.started = True
        if step % self.every == 0 and step != self.skip:
            with self.path.open("a") as handle:
                handle.write(json.dumps(curve_point(step, self.measure())) + "\n")

    def points(self) -> list[dict]:
        """The curve so far, one point per step in step order."""
        if not self.path.is_file():
            return []
        by_step = {}
        for line in self.path.read_text().splitlines():
            point = json.loads(line)
            by_step[point["step"]] = point
        return [by_step[step] for step in sorted(by_step)]

    def write(self, points: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(json.dumps(point) + "\n" for point in points))
