"""The setting stages 1 and 2 train at, worked out once from the pipeline config: the
workflow passes it to ``vtscale train`` as --n/--m and ``vtscale.config_checks`` checks it.
Stage 3 trains at each grid setting (``vtscale.grid.grid_settings``).

- stage 2: n = train.stage2.n, else the largest grid n; m = train.stage2.m, else
  min(grid.m_default, n) (paper: 256/8);
- stage 1 on single questions: n as stage 2 (train.stage1.n, else the largest grid n: a
  smaller n makes steps cheaper but leaves the later queries to stage 2), m = n (a
  sample has no later question);
- stage 1 on whole conversations: stage 2's n and m where train.stage1 sets none, as
  the authors' stage 1 trains.
"""

from __future__ import annotations

from typing import Any, Mapping

from vtscale.grid import m_for
from vtscale.model.setting import Setting
from vtscale.train.config import Stage1Config


def stage_section(config: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """``train.<stage>`` as that stage reads it: stage 1 on whole conversations with the
    n and m of stage 2 that it does not set itself."""
    section = dict(config["train"][stage])
    if stage == "stage1" and not _single_questions(section):
        base = config["train"]["stage2"]
        section.update({k: base[k] for k in ("n", "m") if k in base and k not in section})
    return section


def stage_setting(config: Mapping[str, Any], stage: str) -> Setting:
    """The setting ``stage`` ("stage1" or "stage2") trains at."""
    section, grid = stage_section(config, stage), config["grid"]
    n = section.get("n") or max(grid["n"])
    if stage == "stage1" and _single_questions(section):
        return Setting(n, n)
    return Setting(n, section.get("m") or m_for(n, grid["m_default"]))


def _single_questions(stage1: Mapping[str, Any]) -> bool:
    return stage1.get("samples", Stage1Config.samples) == "question"
