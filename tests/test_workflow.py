"""The paper experiment plans offline, with the right job count and cluster resources."""

import re
import subprocess

from vtscale.config import load

# Table 1's benchmarks by VLMEvalKit dataset name.
TABLE1 = {"MME", "HallusionBench", "POPE", "COCO_VAL", "OCRBench", "AI2D_TEST", "RealWorldQA",
          "MMStar", "SEEDBench_IMG", "SEEDBench2", "SEEDBench2_Plus", "ScienceQA_TEST",
          "OCRVQA_TESTCORE", "ChartQA_TEST", "TextVQA_VAL"}


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


def evaluated(plan: str) -> set[tuple[str, str, str]]:
    """(variant, n_m, benchmark) of every scores JSON the evaluate jobs write."""
    outputs = re.findall(r"^rule evaluate:\n(?:\s+\w+: .*\n)*?\s+output: (.*)$", plan, re.M)
    paths = [p for line in outputs for p in line.split(", ") if p.endswith(".scores.json")]
    return {tuple(p[:-len(".scores.json")].split("/")[-3:]) for p in paths}


def test_paper_plan_lists_every_job(repo_root, venv_env, tmp_path):
    config = load(repo_root / "config/paper.yaml")
    plan = dry_run(repo_root, venv_env, workdir=tmp_path)
    counts = job_counts(plan)
    n_settings = len(config["grid"]["n"])
    assert counts["train_stage3"] == 2 * n_settings == 20
    assert counts["evaluate"] == len(config["eval"]["variants"]) * n_settings == 30
    scored = evaluated(plan)
    assert {bench for *_, bench in scored} == TABLE1 == set(config["eval"]["benchmarks"])
    assert len(scored) == 15 * 3 * 10
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


def test_paper_stage1_runs_at_stage2s_base_setting(repo_root, venv_env, tmp_path):
    import json
    plan = dry_run(repo_root, venv_env, "-p", workdir=tmp_path)
    command = plan.split("rule train_stage1:")[1].split("train --stage 1")[1]
    stage1 = json.loads(re.search(r"--cfg '(\{.*?\})'", command)[1])["train"]["stage1"]
    stage2 = load(repo_root / "config/paper.yaml")["train"]["stage2"]
    assert (stage1["n"], stage1["m"]) == (stage2["n"], stage2["m"]) == (256, 8)
    assert stage1["samples"] == "conversation"
    assert " --n 256 --m 8 " in command
