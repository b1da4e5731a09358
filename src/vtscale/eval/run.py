"""``vtscale eval``: evaluate one (variant, n, m) checkpoint on every configured benchmark.

Writes ``<Bench>.preds.tsv`` and ``<Bench>.scores.json`` into --out-dir; predictions are
cached per batch in --cache-dir so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from vtscale.config import ConfigError, parse_json_arg
from vtscale.eval import metrics, prompts
from vtscale.eval.cache import PredictionCache, inputs_fingerprint, model_fingerprint
from vtscale.eval.config import EvalConfig, eval_config
from vtscale.eval.generate import generate_predictions
from vtscale.eval.tsv import Benchmark, read_benchmark
from vtscale.io import atomic_path, write_json

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="vtscale eval", description=__doc__)
    p.add_argument("--cfg", required=True, help="JSON of the eval config section")
    p.add_argument("--model", required=True, type=Path, help="VisionTokenModel folder")
    p.add_argument("--data-dir", required=True, type=Path, help="root the benchmark TSV paths are relative to")
    p.add_argument("--n", required=True, type=int, help="fused tokens for the first question")
    p.add_argument("--m", required=True, type=int, help="fused tokens for later questions")
    p.add_argument("--no-question", action="store_true", help="drop the question from the fusion input")
    p.add_argument("--variant", required=True, help="variant name recorded in the scores")
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--cache-dir", required=True, type=Path)
    return p.parse_args(argv)


def load_model(model_dir: Path):
    from vtscale.model.vlm import VisionTokenModel  # heavy import, only when evaluating

    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: model folder not found")
    model = VisionTokenModel.from_pretrained(model_dir)
    model.eval()
    return model


def evaluate_benchmark(model, bench: Benchmark, cfg: EvalConfig, args: argparse.Namespace,
                       model_id: str) -> dict[str, str]:
    """Predictions by row index, from the cache where possible."""
    texts = [prompts.build_prompt(row, bench.type) for row in bench.rows]
    max_new = prompts.max_new_tokens(bench.type, cfg.max_new_tokens)
    use_question = not args.no_question
    fingerprint = inputs_fingerprint(model=model_id, prompts=texts, n=args.n, m=args.m,
                                     use_question=use_question, max_new_tokens=max_new)
    cache = PredictionCache(args.cache_dir / bench.name, fingerprint)
    return generate_predictions(
        model, bench.rows, texts, n=args.n, m=args.m, use_question=use_question,
        max_new_tokens=max_new, batch_size=cfg.batch_size, done=cache.load(),
        on_batch=cache.add, desc=bench.name)


def write_outputs(bench: Benchmark, predictions: dict[str, str], args: argparse.Namespace) -> dict:
    preds = [predictions[row.index] for row in bench.rows]
    frame = pd.DataFrame({"index": [r.index for r in bench.rows], "prediction": preds})
    with atomic_path(args.out_dir / f"{bench.name}.preds.tsv") as tmp:
        frame.to_csv(tmp, sep="\t", index=False)
    scores = {"variant": args.variant, "benchmark": bench.name, "type": bench.type,
              "n": args.n, "m": args.m, "metrics": metrics.score(bench.type, bench.rows, preds),
              "skipped": bench.skipped}
    write_json(args.out_dir / f"{bench.name}.scores.json", scores)
    log.info("%s: %s", bench.name, {k: round(v, 2) for k, v in list(scores["metrics"].items())[:6]})
    return scores


def run_builtin(cfg: EvalConfig, args: argparse.Namespace) -> None:
    benches = [_read(name, cfg, args.data_dir) for name in cfg.benchmarks]  # fail fast on bad TSVs
    model = load_model(args.model)
    model_id = model_fingerprint(args.model)
    for bench in benches:
        write_outputs(bench, evaluate_benchmark(model, bench, cfg, args, model_id), args)


def _read(name: str, cfg: EvalConfig, data_dir: Path) -> Benchmark:
    b = cfg.benchmark(name)
    return read_benchmark(data_dir / b.tsv, name, b.type, b.limit)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = eval_config(parse_json_arg(args.cfg))
    if cfg.backend == "vlmevalkit":
        from vtscale.eval.vlmevalkit import require_vlmeval, run_vlmevalkit
        try:
            require_vlmeval()
        except ImportError as err:
            raise ConfigError(f"config error: eval.backend: {err}") from None
        run_vlmevalkit(cfg, args)
    else:
        run_builtin(cfg, args)
    return 0
