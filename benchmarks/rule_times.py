"""Per-rule wall times of one pipeline run, from Snakemake's benchmark files.

    python benchmarks/rule_times.py [--results results/demo] [--out results/demo/benchmarks/rule_times.json]

Each rule's `benchmark:` file (RESULTS/benchmarks/<rule>.tsv, or one per job under
RESULTS/benchmarks/<rule>/) holds the job's wall time in seconds. Writes the JSON (per
rule: jobs and summed seconds) and prints the Markdown table the README shows.
Jobs of one rule run side by side when cores allow, so a summed time can exceed the
rule's share of the wall clock.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vtscale.analysis.rule_times import rule_times
from vtscale.io import write_json


def markdown(times: dict[str, dict[str, float]]) -> str:
    lines = ["| rule | jobs | s |", "|---|---|---|"]
    lines += [f"| {rule} | {t['jobs']} | {t['seconds']:.0f} |" for rule, t in times.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results/demo"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    times = rule_times(args.results / "benchmarks")
    write_json(args.out or args.results / "benchmarks" / "rule_times.json", times)
    print(markdown(times))


if __name__ == "__main__":
    main()
