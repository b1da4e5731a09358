"""Evaluation sharded across processes gives the same predictions and scores as one process."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vtscale.config import config_section
from vtscale.eval import run
from vtscale.eval.config import EvalConfig
from vtscale.eval.paths import EvalPaths
from vtscale.model.setting import Setting

REPO = Path(__file__).resolve().parents[1]
BENCHES = ("ShardYorn", "ShardMCQ")


def png_b64(seed: int) -> str:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("shard_world")
    bench = root / "data" / "benchmarks"
    bench.mkdir(parents=True)
    colours = ["red", "blue", "green", "pink", "grey", "gold", "teal"]
    yorn = [{"index": i, "image": png_b64(i), "question": f"Is there a {c} circle in the image?" + " Look." * i,
             "answer": ["Yes", "No"][i % 2], "category": "color"} for i, c in enumerate(colours)]
    pd.DataFrame(yorn).to_csv(bench / "yorn.tsv", sep="\t", index=False)
    mcq = [{"index": 10 + i, "image": png_b64(20 + i), "question": "Which shape?", "A": "circle",
            "B": "square", "C": "star", "answer": "ABC"[i % 3], "category": "shape"} for i in range(5)]
    pd.DataFrame(mcq).to_csv(bench / "mcq.tsv", sep="\t", index=False)
    spec = importlib.util.spec_from_file_location("eval_speed", REPO / "benchmarks" / "eval_speed.py")
    speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(speed)
    texts = [r["question"] for r in yorn] + ["which shape circle square star yes no"] * 3
    model = speed.build_tiny_model(root / "model", texts)
    cfg = {"eval": {"backend": "builtin", "batch_size": 2,
                    "benchmarks": {"ShardYorn": {"tsv": "benchmarks/yorn.tsv", "type": "yorn"},
                                   "ShardMCQ": {"tsv": "benchmarks/mcq.tsv", "type": "mcq"}}}}
    return {"root": root, "model": model, "cfg": cfg}


def eval_argv(world, out: Path, cache: Path) -> list[str]:
    return ["--cfg", json.dumps(world["cfg"]), "--model", str(world["model"]),
            "--data-dir", str(world["root"] / "data"), "--n", "3", "--m", "2",
            "--variant", "question", "--out-dir", str(out), "--cache-dir", str(cache)]


def outputs(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out.iterdir())}


@pytest.fixture(scope="module")
def single(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "out"
    assert run.main(eval_argv(world, out, out.parent / "cache")) == 0
    return outputs(out)


def test_shard_takes_interleaved_rows():
    assert run.Shard(rank=1, world_size=3).take(list(range(8))) == [1, 4, 7]
    assert run.Shard().take([5, 6]) == [5, 6]


def test_two_ranks_in_turn_match_one_process(world, single, tmp_path, monkeypatch):
    """The rank logic without processes: rank 1 fills its cache, then rank 0 merges."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = run.parse_args(eval_argv(world, out, cache))
    cfg = config_section(EvalConfig, json.loads(args.cfg), "eval")
    device = run.current_shard().device                       # the device the single run used
    setting, paths = Setting(args.n, args.m), EvalPaths(args.model, args.data_dir, out, cache)
    run.run_builtin(cfg, args.variant, setting, paths, run.Shard(rank=1, world_size=2, device=device))
    assert not out.exists()                                   # only rank 0 writes outputs
    assert sorted(p.name for p in (cache / "ShardYorn").iterdir()) == ["rank1"]
    with pytest.raises(RuntimeError, match=r"ShardYorn: 4 predictions missing"):
        run.merged_predictions(run.benchmark_job(cfg.read("ShardYorn", args.data_dir), cfg, setting,
                                                 run.model_fingerprint(args.model)), cache / "ShardYorn")
    run.run_builtin(cfg, args.variant, setting, paths, run.Shard(rank=0, world_size=2, device=device))
    assert outputs(out) == single
    cached = json.loads(next((cache / "ShardMCQ" / "rank1").glob("chunk_*.json")).read_text())
    assert sorted(cached) == ["11", "13"]

    # A later single-process run reuses every rank's cache: nothing is generated again.
    calls = []
    original = run.generate_predictions

    def counting(model, rows, prompts, **kw):
        calls.append(sum(row.index not in kw["done"] for row in rows))
        return original(model, rows, prompts, **kw)

    monkeypatch.setattr(run, "generate_predictions", counting)
    for f in out.iterdir():
        f.unlink()
    assert run.main(eval_argv(world, out, cache)) == 0
    assert calls == [0, 0] and outputs(out) == single


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one(world, single, tmp_path, venv_env):
    """Two real CPU processes (gloo) of `python -m vtscale.cli eval` with the environment
    torchrun and accelerate launch give their workers. (torchrun's own parser rejects eval's
    `--n` as an ambiguous abbreviation; `accelerate launch --cpu` starts a single process.)"""
    out, cache = tmp_path / "out", tmp_path / "cache"
    port = str(free_port())
    procs = []
    for rank in range(2):
        env = {**venv_env, "OMP_NUM_THREADS": "1", "RANK": str(rank), "LOCAL_RANK": str(rank),
               "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
        procs.append(subprocess.Popen([sys.executable, "-m", "vtscale.cli", "eval", *eval_argv(world, out, cache)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, results):
        assert proc.returncode == 0, err[-3000:]
    assert outputs(out) == single
    for bench in BENCHES:
        assert sorted(p.name for p in (cache / bench).iterdir()) == ["meta.json", "rank0", "rank1"]


def test_paper_evaluate_job_launches_num_processes(repo_root, venv_env, tmp_path):
    """eval.num_processes: 8 -> one evaluate job on 8 GPUs through accelerate launch; the
    number stays out of the eval --cfg so changing it reruns nothing."""
    import yaml

    config = yaml.safe_load((repo_root / "config/paper.yaml").read_text())
    config["eval"]["num_processes"] = 8
    (tmp_path / "paper8.yaml").write_text(yaml.safe_dump(config))
    target = "results/paper/eval/question/n8_m8/MME.scores.json"
    proc = subprocess.run(["snakemake", "-n", "-p", "--configfile", str(tmp_path / "paper8.yaml"), "--", target],
                          cwd=repo_root, env=venv_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    job = proc.stdout.split("rule evaluate:")[1].split("Job stats:")[0]
    assert "gpu=8" in job
    command = job.split("Shell command:")[1] if "Shell command:" in job else job
    assert "accelerate launch --num_processes 8 " in command and "--multi_gpu -m vtscale.cli eval" in command
    assert "num_processes\": 8" not in command
