"""The accelerator side of agent-accelerator co-search (A3C-S Alg. 1).

For the supernet's current derived network, DAS finds an accelerator hw(phi*); the latency of
every candidate op of every cell on the chunk that runs that cell then forms a table, and the
search's cost is the expected latency of the sampled network under it (A3C-S Eq. 8: with hard
sampling the forward value is the sampled network's latency and only the active ops get a
gradient). The latency sum over layers is a differentiable surrogate of the pipeline period.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor

from workbench.hardware.accelerator import Accelerator
from workbench.hardware.baselines import dnnbuilder_like
from workbench.hardware.board import ZC706, Board
from workbench.hardware.das import das_search
from workbench.hardware.layers import LayerSpec, extract_layers
from workbench.hardware.predictor import Prediction, layer_cost, predict
from workbench.models.registry import create_model
from workbench.nas.ops import build_op
from workbench.nas.search import make_search
from workbench.nas.space import build_model, get_space


@dataclass(frozen=True)
class HardwareCost:
    """Per-cell, per-op latency (seconds) on the accelerator found for a derived network."""

    arch: dict[str, str]
    design: Accelerator
    prediction: Prediction
    table: pd.DataFrame
    fixed_s: float
    reference_s: float

    def row(self, step: int) -> dict:
        """A hardware.csv row: the design, its predicted FPS and resources."""
        p = self.prediction
        return {
            "step": step,
            "fps": p.fps,
            "latency_sum_s": self.fixed_s + self._arch_latency(),
            "dsp": p.dsp_used,
            "bram36": p.bram_used,
            "bound": p.bound,
            "chunks": len(self.design.chunks),
            "arch": json.dumps(self.arch),
            "design": json.dumps(self.design.to_dict()),
        }

    def _arch_latency(self) -> float:
        return float(sum(self.table.at[cell, op] for cell, op in self.arch.items()))


@functools.cache
def reference_latency(board: Board = ZC706) -> float:
    """Frame time of ResNet-20 on its DNNBuilder-like design: the unit of the latency cost."""
    layers = extract_layers(create_model("resnet20"))
    return 1.0 / predict(layers, dnnbuilder_like(layers, board), board).fps


def cell_chunks(layers: list[LayerSpec], accelerator: Accelerator, num_cells: int) -> list[int]:
    """The chunk that runs each cell (a skip cell: the chunk of the layer before it)."""
    chunk_of = {i: c for c, chunk in enumerate(accelerator.chunks) for i in chunk.layers}
    cells, current = [], 0
    for cell in range(num_cells):
        hosted = [
            chunk_of[i] for i, layer in enumerate(layers) if layer.name.startswith(f"cells.{cell}.")
        ]
        current = hosted[0] if hosted else current
        cells.append(current)
    return cells


def op_latency_table(
    arch: Mapping[str, str], space: str, accelerator: Accelerator, board: Board = ZC706
) -> tuple[pd.DataFrame, float]:
    """Seconds of every op at every cell on that cell's chunk, and the fixed stem+head seconds."""
    sp = get_space(space)
    layers = extract_layers(build_model(arch, sp))
    chunks = cell_chunks(layers, accelerator, sp.num_cells)
    chunk_of = {i: c for c, chunk in enumerate(accelerator.chunks) for i in chunk.layers}
    fixed = sum(
        layer_cost(layer, i, chunk_of[i], accelerator.chunks[chunk_of[i]], board).latency_s
        for i, layer in enumerate(layers)
        if not layer.name.startswith("cells.")
    )
    rows = {}
    for spec, c in zip(sp.cells, chunks, strict=True):
        chunk = accelerator.chunks[c]
        rows[spec.label] = {
            op: sum(
                layer_cost(layer, 0, c, chunk, board).latency_s
                for layer in _op_layers(
                    op, spec.in_channels, spec.out_channels, spec.stride, spec.input_size
                )
            )  # fmt: skip
            for op in sp.ops
        }
    return pd.DataFrame.from_dict(rows, orient="index")[list(sp.ops)], fixed


@functools.cache
def _op_layers(op: str, cin: int, cout: int, stride: int, size: int) -> tuple[LayerSpec, ...]:
    return tuple(extract_layers(build_op(op, cin, cout, stride), (cin, size, size)))


def hardware_for(
    arch: Mapping[str, str],
    space: str,
    board: Board = ZC706,
    *,
    iterations: int = 300,
    seed: int = 0,
) -> HardwareCost:
    """DAS for the derived network `arch`, then its per-op latency table (A3C-S Alg. 1, line 1)."""
    arch = dict(arch)
    layers = extract_layers(build_model(arch, space))
    result = das_search(layers, board, iterations=iterations, seed=seed)
    if result.best_design is None:
        raise RuntimeError(f"DAS found no feasible design within {board.name}'s budget")
    table, fixed = op_latency_table(arch, space, result.best_design, board)
    return HardwareCost(
        arch, result.best_design, result.best_prediction, table, fixed, reference_latency(board)
    )


def latency_cost(weights: Tensor, hw: HardwareCost) -> Tensor:
    """Expected latency of the sampled network / ResNet-20's DNNBuilder-like frame time."""
    table = torch.tensor(hw.table.to_numpy(dtype="float64"))
    expected = (weights.double() * table).sum() + hw.fixed_s
    return (expected / hw.reference_s).to(weights.dtype)


class LatencyCost:
    """A3C-S's cost for the co-search plug-in: the expected latency of a sample on the
    accelerator DAS found for the current derived network, refreshed every `hw_interval` steps
    (each new design is a row of hardware.csv)."""

    def __init__(self, cfg, run) -> None:
        self.cfg, self.run = cfg, run
        self.hardware: HardwareCost | None = None
        self.hardware_step = -1

    def begin_update(self, step: int, supernet) -> None:
        """Search an accelerator for the derived network when a new interval starts."""
        if step // self.cfg.hw_interval != self.hardware_step:
            self.hardware_step = step // self.cfg.hw_interval
            self._search(supernet.derive())
            self.run.append("hardware.csv", [self.hardware.row(step)])

    def _search(self, arch: dict[str, str]) -> None:
        seed = self.cfg.seed * 1_000 + self.hardware_step
        self.hardware = hardware_for(
            arch, self.cfg.space, iterations=self.cfg.das_iterations, seed=seed
        )

    def __call__(self, sample) -> Tensor:
        """The sample's expected latency, in ResNet-20 DNNBuilder-like frame times."""
        return latency_cost(sample.weights, self.hardware)

    def state_dict(self) -> dict:
        return {
            "hardware_step": self.hardware_step,
            "hardware_arch": self.hardware.arch if self.hardware else None,
        }

    def load_state_dict(self, state: dict) -> None:
        """The interval, and its design again (DAS is seeded: the same design)."""
        self.hardware_step = state.get("hardware_step", -1)
        if state.get("hardware_arch") is not None:
            self._search(state["hardware_arch"])


def make_cosearch(cfg, agent, run):
    """The co-search plug-in: the configured search strategy with the latency cost."""
    return make_search(cfg, agent, run, LatencyCost(cfg, run))
