"""The whole Snakefile on the tiny profile: every rule runs for real, once.

One module-scoped run is shared by the checks below; it is the CI proof that the
pipeline is wired end to end (the demo profile is the same code at larger sizes).
"""

import csv
import re
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from vtscale.config import load
from vtscale.grid import grid_settings

pytestmark = pytest.mark.slow


def snakemake(repo_root, workdir, env, *args, timeout=1200):
    cmd = ["snakemake", "-s", str(repo_root / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(repo_root / "config/tiny.yaml"), "--cores", "2", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_run(repo_root, venv_env, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny_pipeline")
    proc = snakemake(repo_root, workdir, venv_env)
    assert proc.returncode == 0, proc.stderr[-6000:]
    config = load(repo_root / "config/tiny.yaml")
    return workdir, config, venv_env


def test_scores_cover_the_grid(tiny_run):
    workdir, config, _ = tiny_run
    with open(workdir / config["results_dir"] / "scores.csv") as f:
        rows = list(csv.DictReader(f))
    seen = {(r["variant"], r["benchmark"], int(r["n"]), int(r["m"])) for r in rows}
    for variant in config["eval"]["variants"]:
        for benchmark in config["eval"]["benchmarks"]:
            for n, m in grid_settings(config["grid"]):
                assert (variant, benchmark, n, m) in seen
    with_se = [r for r in rows if r["se"]]
    assert len(with_se) == len(seen) and all(float(r["se"]) >= 0 for r in with_se)   # one per setting


def test_fits_have_a_row_per_group(tiny_run):
    """Every (variant, benchmark, metric) group with only positive scores gets a fit."""
    workdir, config, _ = tiny_run
    results = workdir / config["results_dir"]
    with open(results / "scores.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows
    groups = {(r["variant"], r["benchmark"], r["metric"]) for r in rows}
    nonpositive = {(r["variant"], r["benchmark"], r["metric"]) for r in rows if float(r["score"]) <= 0}
    with open(results / "fits.csv") as f:
        fitted = {(r["variant"], r["benchmark"], r["metric"]) for r in csv.DictReader(f)}
    assert fitted == groups - nonpositive


def test_every_final_artifact_exists(tiny_run):
    workdir, config, _ = tiny_run
    results = workdir / config["results_dir"]
    for path in ["report/index.html", "cost/cost.csv", "figures/scaling.png",
                 "figures/theory_psi.png", "question_fusion/deltas.csv", "augment/qa_stats.json",
                 "augment/doc_stats.json", "data/mixture_stats.json", "baselines.csv",
                 "metrics/theory.json", "metrics/question/DemoPOPE.json", "plots/scaling/DemoPOPE.csv"]:
        assert (results / path).stat().st_size > 0, path
    qa_stats = json.loads((results / "augment/qa_stats.json").read_text())
    assert qa_stats
    page = (results / "report/index.html").read_text()
    findings = page.split("findings on this run", 1)[1].split("<h2>", 1)[0]
    assert findings.count("does not hold") + findings.count("holds.") + findings.count("undecided") == 4
    assert "The model answers from the image" in findings
    assert "Headline numbers" in page and "Every benchmark row read was scored" in page


def test_second_run_is_a_noop(tiny_run, repo_root):
    workdir, _, env = tiny_run
    start = time.monotonic()
    proc = snakemake(repo_root, workdir, env, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr
    assert time.monotonic() - start < 30


def test_restored_outputs_are_not_rebuilt(tiny_run, repo_root):
    """After `dvc pull` files get fresh, arbitrary mtimes; `snakemake --touch` fixes them."""
    workdir, config, env = tiny_run
    files = sorted(p for p in (workdir / config["results_dir"]).rglob("*") if p.is_file())
    now = time.time()
    for i, path in enumerate(reversed(files)):  # newest first: inputs now look newer than outputs
        os.utime(path, (now - i, now - i))
    proc = snakemake(repo_root, workdir, env, "--touch")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = snakemake(repo_root, workdir, env, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_forcerun_stage3_reruns_only_downstream(tiny_run, repo_root):
    workdir, _, env = tiny_run
    proc = snakemake(repo_root, workdir, env, "-n", "--forcerun", "train_stage3")
    plan = proc.stdout
    assert "train_stage3" in plan and "evaluate" in plan and "report" in plan
    for upstream in ["synth_world", "train_stage2", "train_stage1", "augment_qa"]:
        assert f"rule {upstream}:" not in plan and f" {upstream} " not in plan.split("Job stats")[-1]


def test_changing_one_n_reruns_only_its_branch(tiny_run, repo_root, tmp_path):
    workdir, config, env = tiny_run
    changed = dict(config, grid={**config["grid"], "n": [1, 3, 4]})   # 2 -> 3
    path = tmp_path / "tiny_n3.yaml"
    path.write_text(yaml.safe_dump(changed))
    cmd = ["snakemake", "-s", str(repo_root / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(path), "--cores", "2", "-n"]
    plan = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300).stdout
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.split("Job stats:")[1], re.M))
    assert counts["train_stage3"] == "2" and counts["evaluate"] == "3"
    for upstream in ["train_stage1", "train_stage2", "bootstrap_clip", "synth_world"]:
        assert upstream not in counts


def test_jobs_find_the_venvs_vtscale_without_the_venv_on_path(tiny_run, repo_root):
    """`.venv/bin/snakemake` from a shell that has not activated the venv (issue 22 item 10)."""
    workdir, _, env = tiny_run
    venv_bin = Path(sys.executable).parent
    bare = dict(env, PATH=os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                          if Path(p).resolve() != venv_bin.resolve()))
    assert shutil.which("vtscale", path=bare["PATH"]) is None
    cmd = [str(venv_bin / "snakemake"), "-s", str(repo_root / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(repo_root / "config/tiny.yaml"), "--cores", "1", "--forcerun", "report"]
    proc = subprocess.run(cmd, env=bare, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "vtscale: command not found" not in proc.stderr and "(Rule: report)" in proc.stderr


TRAINING_LINE = "vtscale.train.run: stage 3: "      # logged as a stage-3 job starts training


def start_killable(repo_root, workdir, env, *args):
    cmd = ["snakemake", "-s", str(repo_root / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(repo_root / "config/tiny.yaml"), "--cores", "2", *args]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)   # its own process group: snakemake and its jobs


def kill_once_training(proc, log: Path, timeout: float = 600) -> bool:
    """SIGKILL the run's whole process group once the job's log (removed beforehand) says
    that training began; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if log.is_file() and TRAINING_LINE in log.read_text(errors="replace"):
            os.killpg(proc.pid, signal.SIGKILL)    # the group outlives its leader until reaped
            proc.wait()
            return True
        time.sleep(0.005)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return False


def test_a_killed_run_is_resumed_by_a_plain_snakemake(tiny_run, repo_root):
    """Kill (SIGKILL, snakemake and its job) a forced rerun of one stage-3 fine-tune while
    it trains, its evaluations still on disk: the lock it leaves is removed (its owner is
    gone) and the missing model is built again with everything after it (issue 22 item 3)."""
    workdir, config, env = tiny_run
    results = workdir / config["results_dir"]
    name = "with_question_n1_m1"
    model, log = results / "models/stage3" / name, results / "logs/train_stage3" / f"{name}.log"
    for _ in range(3):          # the job may, rarely, finish between two looks at its log
        log.unlink(missing_ok=True)
        proc = start_killable(repo_root, workdir, env, "--forcerun", str(model.relative_to(workdir)))
        if kill_once_training(proc, log) and not model.exists():
            break
        assert snakemake(repo_root, workdir, env).returncode == 0
    else:
        pytest.fail("the forced stage-3 job was never caught training")
    assert any((workdir / ".snakemake/locks").glob("*.lock"))
    assert (results / "eval/question/n1_m1/DemoPOPE.scores.json").is_file()   # later outputs still there

    proc = snakemake(repo_root, workdir, env)                  # plain: no target, no --unlock
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert "vtscale: removed the lock that a killed snakemake run" in proc.stderr
    assert f"left unfinished by a killed run, so built again with everything after: " \
           f"{model.relative_to(workdir)}" in proc.stderr
    assert (model / "model.safetensors").is_file()
    plan = snakemake(repo_root, workdir, env, "-n")
    assert "Nothing to be done" in plan.stdout + plan.stderr
