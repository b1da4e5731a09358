"""Record the pipeline's outputs in DVC after a successful Snakemake run.

Snakemake is the only engine; DVC versions what it produced. The Snakefile's
``onsuccess`` handler calls this once, serially, so no two jobs ever touch DVC's
state at the same time. ``dvc add`` of an unchanged folder is a cheap no-op.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)


def dvc_add(paths: list[str], repo: Path) -> None:
    present = [p for p in paths if (repo / p).exists()]
    if not present:
        log.info("nothing to record in DVC")
        return
    log.info("recording in DVC: %s", ", ".join(present))
    subprocess.run(["dvc", "add", "--quiet", *present], cwd=repo, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale dvc-track", description=__doc__)
    parser.add_argument("paths", nargs="+", help="folders to record (data_dir, results_dir)")
    parser.add_argument("--repo", default=".", help="DVC repository root")
    args = parser.parse_args(argv)
    repo = Path(args.repo)
    if not (repo / ".dvc").is_dir():
        log.warning("%s is not a DVC repository; run `dvc init` to version outputs", repo.resolve())
        return 0
    dvc_add(args.paths, repo)
    return 0
