"""Per-optimizer-step metrics as a CSV written incrementally (one flushed row a step),
and the per-run summary JSON next to Snakemake's benchmark files."""

from __future__ import annotations

import csv
from pathlib import Path

from vtscale.io import atomic_path

LEADING = ["step", "epoch", "loss"]
TRAILING = ["grad_norm", "lr", "samples_per_s", "tokens_per_s"]


class MetricsCSV:
    """Appends one row per optimizer step; on resume keeps only rows up to the checkpoint."""

    def __init__(self, path: str | Path, resume_step: int = 0):
        self.path = Path(path)
        self.columns: list[str] | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = self._rows_up_to(resume_step) if resume_step else []
        with atomic_path(self.path) as tmp:
            with tmp.open("w", newline="") as f:
                if kept:
                    self.columns = list(kept[0])
                    writer = csv.DictWriter(f, self.columns)
                    writer.writeheader()
                    writer.writerows(kept)

    def _rows_up_to(self, step: int) -> list[dict]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="") as f:
            return [row for row in csv.DictReader(f) if int(row["step"]) <= step]

    def append(self, row: dict) -> None:
        if self.columns is None:
            parts = sorted(k for k in row if k not in LEADING + TRAILING)
            self.columns = LEADING + parts + TRAILING
            with self.path.open("w", newline="") as f:
                csv.DictWriter(f, self.columns).writeheader()
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, self.columns, extrasaction="ignore").writerow(row)


def read_metrics(path: str | Path) -> list[dict]:
    with Path(path).open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def summary_path_for(metrics: str | Path) -> Path:
    """RESULTS/train_metrics/stage1.csv -> RESULTS/benchmarks/train_stage1.json and
    RESULTS/train_metrics/stage3/x.csv -> RESULTS/benchmarks/train_stage3/x.json, i.e.
    next to the rule's Snakemake benchmark file; elsewhere: <metrics>.summary.json."""
    metrics = Path(metrics)
    roots = [p for p in metrics.parents if p.name == "train_metrics"]
    if not roots:
        return metrics.with_suffix(".summary.json")
    parts = list(metrics.relative_to(roots[0]).with_suffix(".json").parts)
    parts[0] = f"train_{parts[0]}"
    return roots[0].parent / "benchmarks" / Path(*parts)
