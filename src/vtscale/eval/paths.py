"""The folders one ``vtscale eval`` reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EvalPaths:
    model: Path          # the VisionTokenModel folder
    data_dir: Path       # root the benchmark TSV paths are relative to
    out_dir: Path        # <Bench>.preds.tsv and <Bench>.scores.json
    cache_dir: Path      # per-batch prediction cache an interrupted run resumes from
