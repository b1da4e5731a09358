"""``vtscale eval``: evaluate one (variant, n, m) checkpoint on every configured benchmark.

Writes ``<Bench>.preds.tsv`` and ``<Bench>.scores.json`` into --out-dir; predictions are
cached per batch in --cache-dir so an interrupted run resumes.

Several processes (``accelerate launch --num_processes K --multi_gpu -m vtscale.cli eval ...``
or ``torchrun --nproc-per-node K -m vtscale.cli eval ...``) split every benchmark's rows:
rank r generates rows r, r+K, ... on its own device and caches them in
``<cache>/<Bench>/rank<r>/``; rank 0 waits for all, merges and writes the same files as
one process would.

The model folder must record the setting asked for (n, m, question; see
``eval/setting_check.py``) unless ``--allow-other-setting`` is given.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch

from vtscale.config import config_section, parse_json_arg
from vtscale.errors import ConfigError
from vtscale.eval import prompts
from vtscale.eval.cache import PredictionCache, inputs_fingerprint, model_fingerprint
from vtscale.eval.config import EvalConfig
from vtscale.eval.generate import generate_predictions
from vtscale.eval.paths import EvalPaths
from vtscale.eval.predictions import predictions_path, write_predictions
from vtscale.eval.rules import LATEST
from vtscale.eval.scoring import score_benchmark, write_scores
from vtscale.eval.setting_check import ALLOW_FLAG, check_model_setting
from vtscale.eval.benchmark import Benchmark, check_scorable
from vtscale.io import read_json
from vtscale.model.setting import Setting

log = logging.getLogger(__name__)

RANK_TIMEOUT_HOURS = 4


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vtscale eval", description=__doc__)
    p.add_argument("--cfg", required=True, help="JSON of the eval config section")
    p.add_argument("--model", required=True, type=Path, help="VisionTokenModel folder")
    p.add_argument("--data-dir", required=True, type=Path, help="root the benchmark TSV paths are relative to")
    p.add_argument("--n", required=True, type=int, help="fused tokens for the first question")
    p.add_argument("--m", required=True, type=int, help="fused tokens for later questions")
    p.add_argument("--no-question", action="store_true", help="drop the question from the fusion input")
    p.add_argument("--variant", required=True, help="variant name recorded in the scores")
    p.add_argument("--out-dir", required=True, type=Path,
                   help="folder of the <Bench>.preds.tsv and <Bench>.scores.json to write")
    p.add_argument("--cache-dir", required=True, type=Path,
                   help="folder of the per-batch prediction cache an interrupted run resumes from")
    p.add_argument(ALLOW_FLAG, action="store_true",
                   help="evaluate the model at another n, m or question setting than it records "
                        "(vtscale/eval/setting_check.py)")
    return p.parse_args(argv)


@dataclass(frozen=True)
class Shard:
    """This process's share of the rows: rank, rank + world_size, ..."""
    rank: int = 0
    world_size: int = 1
    device: str = "cpu"
    barrier: Callable[[], None] = lambda: None

    def take(self, items: list) -> list:
        return items[self.rank::self.world_size]


def current_shard() -> Shard:
    """One process, or one of those `accelerate launch`/torchrun started (RANK, WORLD_SIZE,
    LOCAL_RANK): each on cuda:LOCAL_RANK when CUDA is present, else on the CPU (gloo)."""
    cuda = torch.cuda.is_available()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Shard(device="cuda:0" if cuda else "cpu")
    from accelerate import PartialState

    # ranks wait for each other once per benchmark: allow long, uneven shards
    state = PartialState(cpu=not cuda, timeout=timedelta(hours=RANK_TIMEOUT_HOURS))
    return Shard(state.process_index, state.num_processes, str(state.device), state.wait_for_everyone)


def load_model(model_dir: Path, device: str = "cpu"):
    from vtscale.model.vlm import VisionTokenModel  # heavy import, only when evaluating

    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: model folder not found")
    model = VisionTokenModel.from_pretrained(model_dir)
    model.eval()
    return model.to(device)


@dataclass
class BenchmarkJob:
    """One benchmark's prompts and the cache fingerprint of its generation inputs."""
    bench: Benchmark
    texts: list[str]
    max_new_tokens: int
    fingerprint: str

    @property
    def rows(self):
        return self.bench.rows


def benchmark_job(bench: Benchmark, cfg: EvalConfig, setting: Setting, model_id: str) -> BenchmarkJob:
    texts = [prompts.build_prompt(row, bench.type, cfg.rules) for row in bench.rows]
    max_new = prompts.max_new_tokens(bench.type, cfg.max_new_tokens)
    # the policy changes only multi-image inputs: single-image caches stay valid
    images = {"multi_image": cfg.multi_image} if bench.has_multi_image else {}
    fingerprint = inputs_fingerprint(model=model_id, prompts=texts, n=setting.n, m=setting.m,
                                     use_question=setting.use_question, max_new_tokens=max_new,
                                     **images)
    return BenchmarkJob(bench, texts, max_new, fingerprint)


def cached_predictions(folder: Path) -> dict[str, str]:
    """Every cached chunk of a benchmark: its own and those of every rank of any earlier run."""
    preds: dict[str, str] = {}
    for chunk in sorted(folder.rglob("chunk_*.json")):
        preds.update(read_json(chunk))
    return preds


def evaluate_benchmark(model, job: BenchmarkJob, cfg: EvalConfig, setting: Setting, cache_dir: Path,
                       shard: Shard = Shard()) -> dict[str, str]:
    """Predictions by row index for this process's rows, from the cache where possible."""
    folder = cache_dir / job.bench.name
    own = folder / f"rank{shard.rank}" if shard.world_size > 1 else folder
    cache = PredictionCache(own, job.fingerprint)
    keep = shard.take(list(range(len(job.rows))))
    desc = job.bench.name if shard.world_size == 1 else f"{job.bench.name} [{shard.rank + 1}/{shard.world_size}]"
    return generate_predictions(
        model, [job.rows[i] for i in keep], [job.texts[i] for i in keep], setting=setting,
        max_new_tokens=job.max_new_tokens,
        batch_size=cfg.batch_size, done=cached_predictions(folder), on_batch=cache.add, desc=desc,
        multi_image=cfg.multi_image)


def merged_predictions(job: BenchmarkJob, folder: Path) -> dict[str, str]:
    preds = cached_predictions(folder)
    missing = [row.index for row in job.rows if row.index not in preds]
    if missing:
        raise RuntimeError(f"{folder}: {len(missing)} predictions missing after all ranks finished "
                           f"(first: index {missing[0]})")
    return preds


def write_outputs(bench: Benchmark, predictions: dict[str, str], variant: str, setting: Setting,
                  out_dir: Path, rules: str = LATEST) -> dict:
    preds = [predictions[row.index] for row in bench.rows]
    write_predictions(predictions_path(out_dir, bench.name), [r.index for r in bench.rows], preds)
    scores = {"variant": variant, "benchmark": bench.name, "type": bench.type,
              "n": setting.n, "m": setting.m, "rules": rules, **score_benchmark(bench, preds, rules)}
    write_scores(out_dir / f"{bench.name}.scores.json", scores)
    log.info("%s: %s", bench.name, {k: round(v, 2) for k, v in list(scores["metrics"].items())[:6]})
    return scores


def run_builtin(cfg: EvalConfig, variant: str, setting: Setting, paths: EvalPaths,
                shard: Shard = Shard()) -> None:
    benches = [cfg.read(name, paths.data_dir) for name in cfg.benchmarks]  # fail fast on bad TSVs
    for bench in benches:
        check_scorable(bench)
    model_id = model_fingerprint(paths.model)
    jobs = [benchmark_job(bench, cfg, setting, model_id) for bench in benches]
    if shard.world_size > 1:
        if shard.rank == 0:  # drops caches of other inputs before any rank reads or writes them
            for job in jobs:
                PredictionCache(paths.cache_dir / job.bench.name, job.fingerprint)
        shard.barrier()
    model = load_model(paths.model, shard.device)
    for job in jobs:
        predictions = evaluate_benchmark(model, job, cfg, setting, paths.cache_dir, shard)
        if shard.world_size > 1:
            shard.barrier()
            if shard.rank != 0:
                continue
            predictions = merged_predictions(job, paths.cache_dir / job.bench.name)
        write_outputs(job.bench, predictions, variant, setting, paths.out_dir, cfg.rules)


def check_backend(cfg: EvalConfig, shard: Shard) -> None:
    if cfg.backend != "vlmevalkit":
        return
    if shard.world_size > 1:
        raise ConfigError("config error: eval.num_processes: several processes need eval.backend builtin")
    from vtscale.eval.vlmevalkit import require_vlmeval
    try:
        require_vlmeval()
    except ImportError as err:
        raise ConfigError(f"config error: eval.backend: {err}") from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = config_section(EvalConfig, parse_json_arg(args.cfg), "eval")
    setting = Setting(args.n, args.m, use_question=not args.no_question)
    paths = EvalPaths(args.model, args.data_dir, args.out_dir, args.cache_dir)
    shard = current_shard()
    check_backend(cfg, shard)
    check_model_setting(paths.model, setting, args.allow_other_setting)
    if cfg.backend == "vlmevalkit":
        from vtscale.eval.vlmevalkit import run_vlmevalkit
        run_vlmevalkit(cfg, args.variant, setting, paths)
    else:
        try:
            run_builtin(cfg, args.variant, setting, paths, shard)
        finally:
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()
    return 0
