"""The selection protocol of Mazyavkina et al. Sec. 5.3 and Kendall's tau between proxy and truth.

A search ranks the candidates by its proxy performance; the top k = 3 are "trained from scratch"
(looked up in the tabular benchmark, where every architecture was trained from scratch) and the
best of them by true performance is the search's result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

METRICS = ("reward_mean", "total_reward")


def top_k(proxy: pd.DataFrame, k: int = 3) -> list[int]:
    """The k architectures with the highest proxy (ties: lower index first)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    ranked = proxy.sort_values(["proxy", "arch"], ascending=[False, True])
    return [int(a) for a in ranked["arch"].head(k)]


def select_architecture(
    proxy: pd.DataFrame, table: pd.DataFrame, *, k: int = 3, criterion: str = "reward_mean"
) -> dict:
    """Top-k by proxy, then the best of them by `criterion` in the tabular benchmark `table`
    (indexed by arch; NaN scores rank last); returns its arch, kernels, both metrics and the
    top-k list."""
    if criterion not in METRICS:
        raise ValueError(f"criterion must be one of {METRICS}, got {criterion!r}")
    chosen = top_k(proxy, k)
    missing = sorted(set(chosen) - set(table.index))
    if missing:
        raise ValueError(f"the tabular benchmark has no row for architectures {missing}")
    # an architecture that finished no game has no score (NaN): it ranks last
    scores = table.loc[chosen, criterion].astype(float).fillna(-math.inf)
    best = int(scores.idxmax())
    return {
        "arch": best,
        "kernels": table.loc[best, "kernels"],
        **{m: float(table.loc[best, m]) for m in METRICS},
        "top_k": " ".join(map(str, chosen)),
    }


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b (ties in either ranking corrected; scipy's default); NaN when undefined.

    tau_b = (C - D) / sqrt((P - T_x) (P - T_y)) over the P = n(n-1)/2 pairs, with C concordant
    and D discordant pairs and T_x, T_y the pairs tied in x, in y.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"kendall_tau needs two sequences of one length, got {x.shape}, {y.shape}")
    i, j = np.triu_indices(len(x), k=1)
    sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    pairs = len(i)
    tied_x, tied_y = int((sx == 0).sum()), int((sy == 0).sum())
    denominator = math.sqrt((pairs - tied_x) * (pairs - tied_y))
    if denominator == 0:
        return math.nan
    return float((sx * sy).sum() / denominator)


def proxy_tau(proxy: pd.DataFrame, table: pd.DataFrame, criterion: str = "reward_mean") -> float:
    """Kendall's tau-b between a search's proxy and the true performance of its candidates
    (those with a score)."""
    both = proxy.set_index("arch").join(table[[criterion]], how="inner").dropna()
    return kendall_tau(both["proxy"], both[criterion])
