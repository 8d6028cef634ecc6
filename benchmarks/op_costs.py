"""Training time vs MACs of every a2d op, cell by cell: why the op mix costs more than conv3.

For each distinct cell geometry of the a2d space (stage, stride, channels, feature-map size) and
each op, one A2C iteration's work for that op alone: five forwards on 16 channels-last frames
(the acting forwards, graphs kept) and one backward through all five, timed interleaved (every
op once per repeat), median of the repeats. Reported beside the op's MACs (the search's cost
table, `workbench.nas.cost.op_macs_table`), both as ratios to `conv3` in the same cell, and as
microseconds per thousand MACs. The `uniform mix` row is the mean over the 8 non-skip ops plus
skip, i.e. what a uniformly sampled child costs per cell at the start of a hard search: compare
it with `search_overhead.md`'s sampled-child ratio.
Usage: python benchmarks/op_costs.py [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from pathlib import Path

import pandas as pd
import torch
from interleaved import interleaved_seconds

from workbench.nas.cost import op_macs_table
from workbench.nas.ops import build_op
from workbench.nas.space import get_space
from workbench.runs.provenance import environment_info

ROOT = Path(__file__).resolve().parents[1]
NUM_ENVS, ROLLOUT = 16, 5


def op_iteration(op: str, in_channels: int, out_channels: int, stride: int, size: int):
    """One iteration's network work for `op` alone: 5 forwards of 16 frames, one backward."""
    torch.manual_seed(0)
    module = build_op(op, in_channels, out_channels, stride).to(memory_format=torch.channels_last)
    frames = torch.randn(ROLLOUT, NUM_ENVS, in_channels, size, size)
    frames = [f.contiguous(memory_format=torch.channels_last).requires_grad_() for f in frames]

    def iteration() -> None:
        out = torch.stack([module(f) for f in frames])
        out.backward(torch.ones_like(out))

    return iteration


def time_ops(repeats: int) -> pd.DataFrame:
    """Median ms per iteration and MACs of every op at every distinct cell geometry."""
    space = get_space("a2d")
    macs = op_macs_table(space)
    keys = [(c.stage, c.stride, c.in_channels, c.out_channels, c.input_size) for c in space.cells]
    geometries: dict[tuple, str] = {}
    for key, cell in zip(keys, space.cells, strict=True):  # a geometry's first cell stands for all
        geometries.setdefault(key, cell.label)
    count = {geometries[key]: n for key, n in Counter(keys).items()}
    fns = {
        (label, op): op_iteration(op, *key[2:4], key[1], key[4])
        for key, label in geometries.items()
        for op in space.ops
    }
    for fn in fns.values():
        fn()  # warm-up: oneDNN picks its kernels
    samples = {k: [1000 * s for s in v] for k, v in interleaved_seconds(fns, repeats).items()}
    rows = []
    for (stage, stride, cin, cout, size), label in geometries.items():
        for op in space.ops:
            rows.append({
                "cell": label, "cells_alike": int(count[label]), "stage": stage, "stride": stride,
                "channels": f"{cin}->{cout}", "size": size, "op": op,
                "ms": statistics.median(samples[(label, op)]), "macs": int(macs.loc[label, op]),
                "runs_ms": [round(x, 2) for x in samples[(label, op)]],
            })  # fmt: skip
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-op ratios to conv3 in the same cell, and the whole-space totals per op."""
    conv3 = df[df.op == "conv3"].set_index("cell")
    df = df.assign(
        time_vs_conv3=df.ms / df.cell.map(conv3.ms),
        macs_vs_conv3=df.macs / df.cell.map(conv3.macs),
        us_per_kmac=(1000 * df.ms / (ROLLOUT * NUM_ENVS * df.macs / 1000)).where(df.macs > 0),
    )
    weighted = df.assign(ms=df.ms * df.cells_alike, macs=df.macs * df.cells_alike)
    totals = weighted.groupby("op", sort=False)[["ms", "macs"]].sum().astype(float)
    totals.loc["uniform mix"] = totals.mean()
    totals["time_vs_conv3"] = totals.ms / totals.loc["conv3", "ms"]
    totals["macs_vs_conv3"] = totals.macs / totals.loc["conv3", "macs"]
    return df, totals


def finding(totals: pd.DataFrame) -> str:
    """One sentence: how far training time and MACs part ways for the expanded ops."""
    expanded = totals.loc[[op for op in totals.index if op.endswith(("_e3", "_e5"))]]
    return (
        f"The expanded inverted residuals ({', '.join(expanded.index)}) take "
        f"{expanded.time_vs_conv3.min():.1f}-{expanded.time_vs_conv3.max():.1f}x conv3's time at "
        f"{expanded.macs_vs_conv3.min():.2f}-{expanded.macs_vs_conv3.max():.2f}x its MACs on this "
        "CPU, a gap a MACs cost does not see. A uniformly sampled child's cells "
        f"take {totals.loc['uniform mix', 'time_vs_conv3']:.2f}x the all-conv3 cells' time at "
        f"{totals.loc['uniform mix', 'macs_vs_conv3']:.2f}x their MACs."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    per_cell, totals = summarise(time_ops(args.repeats))
    args.out.mkdir(parents=True, exist_ok=True)
    command = f"python benchmarks/op_costs.py --repeats {args.repeats} --threads {args.threads}"
    (args.out / "op_costs.json").write_text(json.dumps({
        "per_cell": per_cell.to_dict(orient="records"),
        "all_14_cells": totals.reset_index().to_dict(orient="records"),
        "command": command, "threads": args.threads, "environment": environment_info(ROOT),
    }, indent=2, default=str))  # fmt: skip
    cell_table = per_cell.drop(columns=["runs_ms"]).round(
        {"ms": 2, "time_vs_conv3": 2, "macs_vs_conv3": 2, "us_per_kmac": 3}
    )
    (args.out / "op_costs.md").write_text(
        "# a2d ops: training time vs MACs on this CPU\n\n"
        f"One A2C iteration's work per op (5 forwards of {NUM_ENVS} channels-last frames, one "
        f"backward), median of {args.repeats} interleaved repeats, {args.threads} threads, "
        f"torch {torch.__version__}. Command: `{command}`\n\n"
        "## All 14 cells (each geometry's figure times its number of cells)\n\n"
        f"{totals.round(2).to_markdown()}\n\n"
        "`uniform mix`: the mean over the 9 ops, what a uniformly sampled child's cells cost "
        "at the start of a hard search.\n\n"
        f"{finding(totals)}\n\n"
        f"## Per cell geometry\n\n{cell_table.to_markdown(index=False)}\n"
    )
    print(totals.round(2).to_string())


if __name__ == "__main__":
    main()
