"""The random-search baseline of Mazyavkina et al. Sec. 5.4, computed on the tabular benchmark.

Random search picks K architectures at random (without replacement), trains them from scratch
and keeps the best by true performance. With every architecture trained once (the tabular
benchmark) a search is a lookup, so its distribution is estimated by repeating it (the paper:
1000 times, K = 3), and known exactly: the result is the best of K values drawn without
replacement, whose law is `best_of_k_pmf`.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import numpy as np
import pandas as pd

from workbench.oneshot.selection import METRICS


def random_search(
    table: pd.DataFrame,
    *,
    k: int = 3,
    repeats: int = 1000,
    seed: int = 0,
    criterion: str = "reward_mean",
) -> pd.DataFrame:
    """`repeats` random searches on `table` (indexed by arch): each row the chosen arch and its
    metrics (the best by `criterion` of k architectures drawn without replacement)."""
    if criterion not in METRICS:
        raise ValueError(f"criterion must be one of {METRICS}, got {criterion!r}")
    if not 1 <= k <= len(table):
        raise ValueError(f"k must be in 1..{len(table)} (the table's architectures), got {k}")
    rng = np.random.default_rng(seed)
    archs = table.index.to_numpy()
    values = np.nan_to_num(table[criterion].to_numpy(dtype=float), nan=-np.inf)  # NaN: last
    picks = np.stack([rng.choice(len(archs), size=k, replace=False) for _ in range(repeats)])
    best = picks[np.arange(repeats), values[picks].argmax(axis=1)]
    result = table.iloc[best][list(METRICS)].reset_index(drop=True)
    result.insert(0, "arch", archs[best])
    return result


def best_of_k_pmf(values: Sequence[float], k: int) -> pd.Series:
    """Exact law of the best of k of `values` drawn without replacement: P(best = v) by value.

    With the values sorted, v_(1) <= ... <= v_(n), the best is v_(i) with probability
    C(i - 1, k - 1) / C(n, k) (the other k - 1 draws are among the i - 1 smaller ones; equal
    values are merged, so ties need no rule).
    """
    v = np.sort(np.asarray(values, dtype=float))
    n = len(v)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    probs = np.array([comb(i, k - 1) for i in range(n)], dtype=float) / comb(n, k)
    return pd.Series(probs, index=v).groupby(level=0).sum()


def expected_best_of_k(values: Sequence[float], k: int) -> float:
    """E[best of k drawn without replacement] in closed form."""
    pmf = best_of_k_pmf(values, k)
    return float((pmf.index.to_numpy() * pmf.to_numpy()).sum())
