"""Accelerator search quality on the ZC706: DAS vs random search vs the DNNBuilder-like design.

For each agent (hand-designed backbones and architectures drawn from the a2d space, as a search
would derive them) and each seed: the DNNBuilder-like design (one stage per layer), DAS with
`--calls` predictor calls, random search with the same number of calls, and DAS on the space
without own-chunk kinds (every chunk a contiguous run of layers) as the ablation of that choice.
Predicted FPS, so the figures are deterministic per seed; the wall-clock is reported too.
Issue 6: DAS must beat the DNNBuilder-like design, and random search at equal calls.
Usage: python benchmarks/das_search.py [--calls 1500] [--seeds 4] [--archs 4]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import pandas as pd

from workbench.experiments.agent_costs import backbone_of
from workbench.hardware import ZC706, das_search, dnnbuilder_like, extract_layers, predict
from workbench.hardware import random_search as random_designs
from workbench.hardware.accelerator import DesignSpace
from workbench.hardware.predictor import roofline_fps
from workbench.nas.space import random_arch

ROOT = Path(__file__).resolve().parents[1]


def agent_rows(name: str, agent, calls: int, seeds: int) -> list[dict]:
    """One row per seed: the FPS of every method on this agent."""
    layers = extract_layers(backbone_of(agent))
    baseline = predict(layers, dnnbuilder_like(layers, ZC706), ZC706).fps
    contiguous = DesignSpace(layers, ZC706, own_chunk_kinds=())
    rows = []
    for seed in range(seeds):
        start = time.perf_counter()
        das = das_search(layers, ZC706, iterations=calls - 1, seed=seed)
        das_s = time.perf_counter() - start
        rand = random_designs(layers, ZC706, n_calls=calls, seed=seed)
        ablation = das_search(layers, ZC706, contiguous, iterations=calls - 1, seed=seed)
        rows.append({
            "agent": name, "seed": seed, "macs": sum(layer.macs for layer in layers),
            "roofline_fps": roofline_fps(layers, ZC706), "dnnbuilder_fps": baseline,
            "das_fps": das.best_fps, "random_fps": rand.best_fps,
            "das_contiguous_fps": ablation.best_fps, "das_chunks": len(das.best_design.chunks),
            "das_bound": das.best_prediction.bound, "das_seconds": das_s,
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1501, help="predictor calls per search")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--archs", type=int, default=4, help="random a2d architectures")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "benchmarks")
    args = parser.parse_args()
    agents: dict = {name: name for name in ("vanilla", "resnet14", "resnet20")}
    agents.update({f"a2d-random-{s}": random_arch("a2d", seed=s) for s in range(args.archs)})
    rows = [r for name, a in agents.items() for r in agent_rows(name, a, args.calls, args.seeds)]
    runs = pd.DataFrame(rows)
    table = runs.groupby("agent", sort=False).agg(
        macs=("macs", "first"), roofline_fps=("roofline_fps", "first"),
        dnnbuilder_fps=("dnnbuilder_fps", "first"), das_fps=("das_fps", "mean"),
        das_min_fps=("das_fps", "min"), random_fps=("random_fps", "mean"),
        das_contiguous_fps=("das_contiguous_fps", "mean"), das_seconds=("das_seconds", "mean"),
    )  # fmt: skip
    table["das_over_dnnbuilder"] = table["das_fps"] / table["dnnbuilder_fps"]
    table["das_min_over_dnnbuilder"] = table["das_min_fps"] / table["dnnbuilder_fps"]
    table["das_over_random"] = table["das_fps"] / table["random_fps"]
    table["das_over_contiguous"] = table["das_fps"] / table["das_contiguous_fps"]
    table = table.round(3).reset_index()
    args.out.mkdir(parents=True, exist_ok=True)
    machine = {"platform": platform.platform(), "processor": platform.processor()}
    result = {"settings": vars(args) | {"out": str(args.out)}, "machine": machine,
              "runs": rows, "table": table.to_dict(orient="records")}  # fmt: skip
    (args.out / "das_search.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# Accelerator search on the ZC706 (900 DSPs): DAS vs random search vs DNNBuilder-like",
        "",
        table.to_markdown(index=False),
        "",
        f"Predicted FPS; DAS, random and DAS on contiguous chunks get {args.calls:,} predictor "
        f"calls each; mean (and DAS's min) over seeds 0-{args.seeds - 1}; {platform.platform()}.",
    ]
    (args.out / "das_search.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
