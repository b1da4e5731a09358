"""The paper experiment plans offline, with the right job count and cluster resources."""

import re
import subprocess

from vtscale.config import load


def dry_run(repo_root, env, *args, workdir=None):
    """Plan the paper experiment in an empty working directory (nothing built yet)."""
    proc = subprocess.run(["snakemake", "-n", "-s", str(repo_root / "Snakefile"),
                           "--directory", str(workdir), "--configfile",
                           str(repo_root / "config/paper.yaml"), *args],
                          cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def job_counts(plan: str) -> dict[str, int]:
    table = plan.split("Job stats:")[1].split("Reasons:")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_paper_plan_lists_every_job(repo_root, venv_env, tmp_path):
    config = load(repo_root / "config/paper.yaml")
    counts = job_counts(dry_run(repo_root, venv_env, workdir=tmp_path))
    n_settings = len(config["grid"]["n"])
    assert counts["train_stage3"] == 2 * n_settings == 20
    assert counts["evaluate"] == len(config["eval"]["variants"]) * n_settings == 30
    assert counts["divergence"] == len(config["theory"]["llms"]) == 8   # the paper's seven LLMs and Qwen2.5-14B-Instruct
    assert "bootstrap_clip" not in counts and "synth_world" not in counts
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")


def test_slurm_profile_sets_gpu_resources(repo_root, venv_env, tmp_path):
    plan = dry_run(repo_root, venv_env, "--profile", str(repo_root / "workflow/profiles/slurm"),
                   workdir=tmp_path)
    stage2 = plan.split("rule train_stage2:")[1].split("\n\n")[0]
    assert "gpu=8" in stage2 and "runtime=2880" in stage2
    evaluate = plan.split("rule evaluate:")[1].split("\n\n")[0]
    assert "gpu=1" in evaluate
