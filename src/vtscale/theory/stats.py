"""Divergence statistics of two branches of hidden states (paper §3).

For branches A and B that share a prefix, with final hidden states h_i^A, h_i^B
(i = 1..N), every quantity is computed for all prefixes n = 1..N at once: sums over
the top-left n×n block of a matrix are read off its 2-D cumulative sum.

* D(n) = ‖Σ_{i≤n} (h_i^A − h_i^B)‖
* ψ_eq^AB(n)    = mean_{i≤n} cos⁺(h_i^A, h_i^B)
* ψ_cross^AB(n) = mean_{i≠j≤n} cos⁺(h_i^A, h_j^B)
* ψ_cross^AA(n) = ½ [mean_{i≠j≤n} cos⁺(h_i^A, h_j^A) + the same for B]

cos⁺ is the cosine clipped at 0. The cross terms have no pair at n = 1 and are NaN there.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
from scipy.optimize import least_squares

STAT_NAMES = ("D", "psi_eq", "psi_cross_ab", "psi_cross_aa", "psi_aa", "psi_bb")


def _unit_rows(h: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(h, axis=1, keepdims=True)
    return h / np.maximum(norms, 1e-12)


def _block_sums(matrix: np.ndarray) -> np.ndarray:
    """s[n-1] = sum of matrix[:n, :n] for n = 1..N."""
    return np.diagonal(matrix.cumsum(axis=0).cumsum(axis=1)).copy()


def _off_diagonal_means(matrix: np.ndarray) -> np.ndarray:
    """mean over i ≠ j ≤ n of matrix[i, j] for n = 1..N (NaN at n = 1)."""
    n = np.arange(1, len(matrix) + 1, dtype=float)
    off = _block_sums(matrix) - np.cumsum(np.diagonal(matrix))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1, off / (n * n - n), np.nan)


def pair_statistics(h_a: np.ndarray, h_b: np.ndarray) -> dict[str, np.ndarray]:
    """All statistics of one pair for n = 1..N; both branches must have N rows."""
    if h_a.shape != h_b.shape:
        raise ValueError(f"branch shapes differ: {h_a.shape} vs {h_b.shape}")
    h_a, h_b = np.asarray(h_a, dtype=np.float64), np.asarray(h_b, dtype=np.float64)
    n = np.arange(1, len(h_a) + 1, dtype=float)
    a, b = _unit_rows(h_a), _unit_rows(h_b)
    cos_ab = np.clip(a @ b.T, 0.0, None)
    cos_aa = np.clip(a @ a.T, 0.0, None)
    cos_bb = np.clip(b @ b.T, 0.0, None)
    psi_aa, psi_bb = _off_diagonal_means(cos_aa), _off_diagonal_means(cos_bb)
    return {
        "D": np.linalg.norm(np.cumsum(h_a - h_b, axis=0), axis=1),
        "psi_eq": np.cumsum(np.diagonal(cos_ab)) / n,
        "psi_cross_ab": _off_diagonal_means(cos_ab),
        "psi_cross_aa": 0.5 * (psi_aa + psi_bb),
        "psi_aa": psi_aa,      # within branch A (chosen), and within branch B: paper Fig 3
        "psi_bb": psi_bb,
    }


def cosine_samples(h_a: np.ndarray, h_b: np.ndarray, rng: np.random.Generator,
                   limit: int) -> dict[str, np.ndarray]:
    """Raw (unclipped) cosines of one pair, at most ``limit`` of each kind, for histograms."""
    a, b = _unit_rows(np.asarray(h_a, dtype=np.float64)), _unit_rows(np.asarray(h_b, dtype=np.float64))
    cos_ab, upper = a @ b.T, np.triu_indices(len(a), k=1)
    kinds = {
        "eq_ab": np.diagonal(cos_ab),
        "cross_ab": cos_ab[~np.eye(len(a), dtype=bool)],
        "cross_aa": np.concatenate([(a @ a.T)[upper], (b @ b.T)[upper]]),
    }
    return {k: (v if len(v) <= limit else rng.choice(v, limit, replace=False)).astype(np.float32)
            for k, v in kinds.items()}


@dataclasses.dataclass
class Aggregate:
    """Per-n mean, std and number of pairs long enough to reach n."""
    mean: dict[str, np.ndarray]
    std: dict[str, np.ndarray]
    count: np.ndarray


def aggregate(per_pair: list[dict[str, np.ndarray]]) -> Aggregate:
    """Mean/std over pairs; a pair of length L contributes to n = 1..L only."""
    length = max(len(p["D"]) for p in per_pair)
    mean, std = {}, {}
    for name in STAT_NAMES:
        table = np.full((len(per_pair), length), np.nan)
        for row, stats in zip(table, per_pair):
            row[: len(stats[name])] = stats[name]
        with warnings.catch_warnings():    # all-NaN columns (n = 1 cross terms) are expected
            warnings.simplefilter("ignore", RuntimeWarning)
            mean[name] = np.nanmean(table, axis=0)
            std[name] = np.nanstd(table, axis=0)
    count = np.array([sum(len(p["D"]) >= n for p in per_pair) for n in range(1, length + 1)])
    return Aggregate(mean=mean, std=std, count=count)


def upsilon(n: np.ndarray, psi_eq: np.ndarray, psi_aa: np.ndarray, psi_ab: np.ndarray) -> np.ndarray:
    """Υ(n) = n(1 − ψ_eq) + (n² − n)(ψ_AA − ψ_AB); the cross term is 0 at n = 1."""
    n = np.asarray(n, dtype=float)
    cross = np.where(n > 1, np.nan_to_num(psi_aa - psi_ab), 0.0)
    return n * (1 - psi_eq) + (n * n - n) * cross


def balance_point(psi_eq: np.ndarray, psi_aa: np.ndarray, psi_ab: np.ndarray) -> np.ndarray:
    """n_b = (1 − ψ_eq)/(ψ_AA − ψ_AB) − 1 (inf where ψ_AA = ψ_AB)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1 - psi_eq) / (psi_aa - psi_ab) - 1


def alpha_of_n(n: np.ndarray, n_b: np.ndarray | float, beta: float) -> np.ndarray:
    """α(n) = (β/2)·log_n((1 + n_b)/(n + n_b)) − β/2; −β/2 where n_b is infinite; NaN at n = 1."""
    n = np.asarray(n, dtype=float)
    n_b = np.broadcast_to(np.asarray(n_b, dtype=float), n.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log((1 + n_b) / (n + n_b)) / np.log(n)
    alpha = np.where(np.isinf(n_b), -beta / 2, beta / 2 * ratio - beta / 2)
    return np.where(n > 1, alpha, np.nan)


@dataclasses.dataclass
class LambdaFit:
    lam: float
    r2: float
    rel_rmse: float
    n_points: int


def fit_lambda(expected_d: np.ndarray, ups: np.ndarray) -> LambdaFit:
    """Least squares λ in E[D(n)] ≈ λ·√Υ(n), from λ = 1, over the finite points."""
    ok = np.isfinite(expected_d) & np.isfinite(ups) & (ups >= 0)
    d, root = expected_d[ok], np.sqrt(ups[ok])
    if len(d) == 0:
        return LambdaFit(math.nan, math.nan, math.nan, 0)
    result = least_squares(lambda x: x[0] * root - d, x0=[1.0])
    lam = float(result.x[0])
    residual = lam * root - d
    ss_tot = float(((d - d.mean()) ** 2).sum())
    r2 = 1 - float((residual**2).sum()) / ss_tot if ss_tot > 0 else math.nan
    rel_rmse = float(np.sqrt(np.mean(residual**2)) / max(np.mean(np.abs(d)), 1e-12))
    return LambdaFit(lam=lam, r2=r2, rel_rmse=rel_rmse, n_points=int(ok.sum()))
