"""``vtscale divergence``: paper §3 on one LLM, or the combined theory figures.

Compute mode (one LLM)::

    vtscale divergence --cfg JSON --llm SOURCE --pairs PAIRS --out-dir DIR

writes DIR/curves.csv (per n: mean/std of D, ψ_eq, ψ_cross^AB, ψ_cross^AA, the
number of pairs reaching n, Υ, n_b, α, λ√Υ), DIR/summary.json and DIR/cosines.npz.
Means at n use only the pairs whose (common) branch length is at least n.

Figure mode::

    vtscale divergence --figures THEORY_DIR --llms NAME... --figure-dir DIR [--cfg JSON]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from vtscale.config import config_section, parse_json_arg
from vtscale.data.dpo_pairs import load_pairs
from vtscale.errors import InputError
from vtscale.io import atomic_path, write_csv, write_json
from vtscale.model.causal_lm import load_causal_lm, pad_id
from vtscale.theory import stats
from vtscale.theory.config import TheoryConfig
from vtscale.theory.hidden import branch_hidden_states, tokenize_pairs

log = logging.getLogger(__name__)

COSINE_SAMPLES_PER_PAIR = 2000


def theory_config(payload: dict | None) -> tuple[TheoryConfig, int]:
    payload = payload or {}
    return config_section(TheoryConfig, payload, "theory"), int(payload.get("seed", 0))


def curves_table(agg: stats.Aggregate, beta: float) -> tuple[pd.DataFrame, stats.LambdaFit]:
    n = np.arange(1, len(agg.count) + 1)
    m = agg.mean
    ups = stats.upsilon(n, m["psi_eq"], m["psi_cross_aa"], m["psi_cross_ab"])
    n_b = stats.balance_point(m["psi_eq"], m["psi_cross_aa"], m["psi_cross_ab"])
    lam = stats.fit_lambda(m["D"], ups)
    table = pd.DataFrame({
        "n": n, "pairs": agg.count,
        "D_mean": m["D"], "D_std": agg.std["D"],
        "psi_eq": m["psi_eq"], "psi_eq_std": agg.std["psi_eq"],
        "psi_cross_ab": m["psi_cross_ab"], "psi_cross_ab_std": agg.std["psi_cross_ab"],
        "psi_cross_aa": m["psi_cross_aa"], "psi_cross_aa_std": agg.std["psi_cross_aa"],
        "psi_aa": m["psi_aa"], "psi_bb": m["psi_bb"],
        "upsilon": ups, "n_b": n_b, "alpha": stats.alpha_of_n(n, n_b, beta),
        "lambda_sqrt_upsilon": lam.lam * np.sqrt(ups),
    })
    return table, lam


def summarise(table: pd.DataFrame, lam: stats.LambdaFit, n_pairs: int, n_dropped: int,
              source: str, pairs: str, seconds: float) -> dict:
    cross = table[table["n"] > 1]
    gap = (cross["psi_cross_aa"] - cross["psi_cross_ab"]).to_numpy()
    return {
        "llm": source, "pairs_source": pairs,
        "pairs_used": n_pairs, "pairs_dropped": n_dropped,
        "max_n": int(table["n"].max()),
        "lambda": lam.lam, "lambda_fit": {"r2": lam.r2, "rel_rmse": lam.rel_rmse,
                                          "n_points": lam.n_points},
        "mean_psi_eq": float(table["psi_eq"].mean()),
        "mean_psi_cross_ab": float(cross["psi_cross_ab"].mean()) if len(cross) else None,
        "mean_psi_cross_aa": float(cross["psi_cross_aa"].mean()) if len(cross) else None,
        "n_b_median": _median_balance_point(cross["n_b"]),
        "psi_aa_gt_ab_on_average": bool(gap.mean() > 0) if len(gap) else None,
        "fraction_n_psi_aa_gt_ab": float((gap > 0).mean()) if len(gap) else None,
        "seconds": round(seconds, 2),
    }


def _median_balance_point(n_b: pd.Series) -> float | None:
    """The balance point summarised over n (it is measured at every n > 1); None if never finite."""
    finite = n_b[np.isfinite(n_b)]
    return float(finite.median()) if len(finite) else None


def run_divergence(cfg: TheoryConfig, seed: int, source: str, pairs_source: str,
                   out_dir: str | Path) -> dict:
    started = time.perf_counter()
    pairs = load_pairs(pairs_source, cfg.max_pairs, seed)
    model, tokenizer = load_causal_lm(source, "theory.llms", dtype=torch.float32)
    tokenized = tokenize_pairs(tokenizer, pairs, cfg.max_tokens)
    if not tokenized:
        raise InputError(f"{pairs_source}: no pair has a non-empty chosen and rejected answer")
    prefixes = [t.prefix for t in tokenized]
    hidden_a = branch_hidden_states(model, pad_id(tokenizer), prefixes, [t.branch_a for t in tokenized],
                                    cfg.batch_size, "branch A (chosen)")
    hidden_b = branch_hidden_states(model, pad_id(tokenizer), prefixes, [t.branch_b for t in tokenized],
                                    cfg.batch_size, "branch B (rejected)")

    rng = np.random.default_rng(seed)
    per_pair, samples = [], {"eq_ab": [], "cross_ab": [], "cross_aa": []}
    for h_a, h_b in zip(hidden_a, hidden_b):
        per_pair.append(stats.pair_statistics(h_a, h_b))
        for kind, values in stats.cosine_samples(h_a, h_b, rng, COSINE_SAMPLES_PER_PAIR).items():
            samples[kind].append(values)
    table, lam = curves_table(stats.aggregate(per_pair), cfg.beta)
    summary = summarise(table, lam, len(tokenized), len(pairs) - len(tokenized), source,
                        pairs_source, time.perf_counter() - started)

    out_dir = Path(out_dir)
    write_csv(out_dir / "curves.csv", table, float_format="%.8g")
    with atomic_path(out_dir / "cosines.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **{k: np.concatenate(v) for k, v in samples.items()})
    write_json(out_dir / "summary.json", summary)
    log.info("λ = %.4g (r2 %.3f), ψ_AA > ψ_AB on average: %s, %d pairs, %.1f s",
             lam.lam, lam.r2, summary["psi_aa_gt_ab_on_average"], len(tokenized), summary["seconds"])
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale divergence", description=__doc__.splitlines()[0])
    parser.add_argument("--cfg", help="JSON with 'theory' (and 'seed') sections")
    parser.add_argument("--llm", help="causal LM: local folder, hub id or .gguf file")
    parser.add_argument("--pairs", help="DPO pairs jsonl or hub dataset id")
    parser.add_argument("--out-dir", help="folder for curves.csv, summary.json, cosines.npz")
    parser.add_argument("--figures", metavar="THEORY_DIR", help="figure mode: folder of per-LLM results")
    parser.add_argument("--llms", nargs="+", help="figure mode: LLM names (sub-folders of THEORY_DIR)")
    parser.add_argument("--figure-dir", help="figure mode: output folder for the PNGs")
    args = parser.parse_args(argv)
    cfg, seed = theory_config(parse_json_arg(args.cfg) if args.cfg else None)

    if args.figures:
        if not args.llms or not args.figure_dir:
            parser.error("--figures needs --llms and --figure-dir")
        from vtscale.theory.figures import write_theory_figures
        for path in write_theory_figures(args.figures, args.llms, args.figure_dir, cfg.beta):
            log.info("wrote %s", path)
        return 0
    if not (args.llm and args.pairs and args.out_dir):
        parser.error("compute mode needs --llm, --pairs and --out-dir")
    summary = run_divergence(cfg, seed, args.llm, args.pairs, args.out_dir)
    print({k: summary[k] for k in ("lambda", "psi_aa_gt_ab_on_average", "pairs_used", "seconds")})
    return 0
