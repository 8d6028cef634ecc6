"""Agents as points on the cost planes of A2D Fig. 3 (MACs) and A3C-S Fig. 3 (FPS on an FPGA).

An agent is a registered backbone name or a derived architecture; its MACs come from the
profiler, its FPS from the analytical predictor on the ZC706, on a DNNBuilder-like design and on
the design DAS finds for it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from torch import nn

from workbench.hardware import ZC706, Board, das_search, dnnbuilder_like, extract_layers, predict
from workbench.models.profile import count_macs, count_params
from workbench.models.registry import create_model
from workbench.nas.space import build_model

Agent = str | Mapping[str, str]
"""A registered backbone name, or a derived architecture {"cell_0": op, ...}."""


def backbone_of(agent: Agent) -> nn.Module:
    """The backbone module of an agent."""
    return create_model(agent) if isinstance(agent, str) else build_model(dict(agent))


def cost_table(agents: Mapping[str, Agent]) -> pd.DataFrame:
    """MACs per frame and parameters of each named agent's backbone."""
    rows = []
    for name, agent in agents.items():
        model = backbone_of(agent)
        rows.append({"agent": name, "macs": count_macs(model, (4, 84, 84)),
                     "params": count_params(model)})  # fmt: skip
    return pd.DataFrame(rows)


def accelerator_table(
    agents: Mapping[str, Agent], board: Board = ZC706, *, das_iterations: int = 1500, seed: int = 0
) -> pd.DataFrame:
    """FPS of each agent on a DNNBuilder-like design and on its DAS design, with resources."""
    rows = []
    for name, agent in agents.items():
        layers = extract_layers(backbone_of(agent))
        baseline = predict(layers, dnnbuilder_like(layers, board), board)
        das = das_search(layers, board, iterations=das_iterations, seed=seed)
        best = das.best_prediction
        rows.append(
            {
                "agent": name,
                "macs": sum(layer.macs for layer in layers),
                "dnnbuilder_fps": baseline.fps,
                "das_fps": best.fps if best else None,
                "das_over_dnnbuilder": best.fps / baseline.fps if best and baseline.fps else None,
                "das_chunks": len(das.best_design.chunks) if das.best_design else None,
                "das_dsp": best.dsp_used if best else None,
                "das_bram36": best.bram_used if best else None,
                "das_bound": best.bound if best else None,
                "predictor_calls": das.predictor_calls,
            }
        )
    return pd.DataFrame(rows)


def best_scores(evals: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean over seeds of each run's best test score (and its std), grouped by `by`."""
    per_run = evals.groupby([*by, "seed"])["mean"].max().reset_index()
    return (
        per_run.groupby(by)["mean"]
        .agg(best_score="mean", best_std="std", seeds="count")
        .reset_index()
    )
