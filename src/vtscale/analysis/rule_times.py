"""Wall times of one pipeline run, from Snakemake's ``benchmark:`` files.

Each rule's file (``<results>/benchmarks/<rule>.tsv``, or one per job under
``<results>/benchmarks/<rule>/``) holds the job's wall time in seconds (column ``s``)
and its peak memory (``max_rss``, MB).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def job_times(bench_dir: Path) -> list[dict]:
    """One ``{"job", "seconds", "max RSS MB"}`` per readable benchmark file, in file-name
    order; ``job`` is the file's path under ``bench_dir`` without its suffix."""
    jobs = []
    for path in sorted(bench_dir.rglob("*.tsv")):
        try:
            frame = pd.read_csv(path, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            continue
        if "s" not in frame.columns or frame.empty:
            continue
        jobs.append({"job": path.relative_to(bench_dir).with_suffix("").as_posix(),
                     "seconds": float(frame["s"].iloc[-1]),
                     "max RSS MB": float(frame["max_rss"].iloc[-1]) if "max_rss" in frame else None})
    return jobs


def rule_times(bench_dir: Path) -> dict[str, dict[str, float]]:
    """{rule: {"jobs": count, "seconds": summed wall time}}, in file-name order."""
    times: dict[str, dict[str, float]] = {}
    for job in job_times(bench_dir):
        entry = times.setdefault(job["job"].split("/")[0], {"jobs": 0, "seconds": 0.0})
        entry["jobs"] += 1
        entry["seconds"] += job["seconds"]
    return times
