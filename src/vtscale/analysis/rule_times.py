"""Per-rule wall times of one pipeline run, from Snakemake's ``benchmark:`` files.

Each rule's file (``<results>/benchmarks/<rule>.tsv``, or one per job under
``<results>/benchmarks/<rule>/``) holds the job's wall time in seconds (column ``s``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def rule_times(bench_dir: Path) -> dict[str, dict[str, float]]:
    """{rule: {"jobs": count, "seconds": summed wall time}}, in file-name order."""
    times: dict[str, dict[str, float]] = {}
    for path in sorted(bench_dir.rglob("*.tsv")):
        try:
            frame = pd.read_csv(path, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            continue
        if "s" not in frame.columns or frame.empty:
            continue
        relative = path.relative_to(bench_dir)
        rule = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        entry = times.setdefault(rule, {"jobs": 0, "seconds": 0.0})
        entry["jobs"] += 1
        entry["seconds"] += float(frame["s"].iloc[-1])
    return times
