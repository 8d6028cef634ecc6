"""Profiler: params, MACs per frame, a per-layer table, activation memory and CPU latency.

MACs come from PyTorch's own `torch.utils.flop_counter.FlopCounterMode` (FLOPs / 2): convs,
linears and matmuls. Elementwise ops (BN, ReLU, pooling, the residual add) are not counted, as
in the NAS literature's "FLOPs" (FBNet, A2D Fig. 3), which are MACs of conv/linear layers.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from workbench.models.actor_critic import create_agent

ATARI_INPUT = (4, 84, 84)
# A2D's "5.83x" parameter ratio (vanilla vs ResNet-20) holds with heads over the full 18-action set.
FULL_ACTION_SET = 18


@dataclass(frozen=True)
class ModelProfile:
    """What a model costs: params, MACs per frame, activations, latency, and the per-layer table."""

    model: str
    input_shape: tuple[int, ...]
    num_actions: int
    params: int
    macs: int
    activation_bytes: int
    latency_ms: dict[int, float]
    torch_threads: int
    layers: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready dict (the `workbench profile --json` output)."""
        return {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "num_actions": self.num_actions,
            "params": self.params,
            "macs": self.macs,
            "activation_bytes": self.activation_bytes,
            "latency_ms": {f"batch{b}": ms for b, ms in self.latency_ms.items()},
            "torch_threads": self.torch_threads,
            "layers": self.layers.to_dict(orient="records"),
        }


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _example_input(model: nn.Module, input_shape: Sequence[int], batch: int) -> torch.Tensor:
    device = next(model.parameters()).device
    return torch.zeros((batch, *input_shape), dtype=torch.uint8, device=device)


def _run(model: nn.Module, x: torch.Tensor) -> None:
    """Forward in eval mode without gradients, restoring the caller's train/eval mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x if _takes_uint8(model) else x.float())
    finally:
        model.train(was_training)


def _takes_uint8(model: nn.Module) -> bool:
    return hasattr(model, "forward_features")


def count_macs(model: nn.Module, input_shape: Sequence[int] = ATARI_INPUT) -> int:
    """MACs of one forward pass on one frame stack (batch 1)."""
    with FlopCounterMode(display=False) as counter:
        _run(model, _example_input(model, input_shape, 1))
    return counter.get_total_flops() // 2


def layer_table(model: nn.Module, input_shape: Sequence[int] = ATARI_INPUT) -> pd.DataFrame:
    """One row per leaf module, in execution order: type, params, MACs, output shape, bytes."""
    rows: dict[str, dict] = {}
    names = {m: n for n, m in model.named_modules()}

    def record(module: nn.Module, _inputs, output) -> None:
        if isinstance(output, torch.Tensor) and names[module] not in rows:
            rows[names[module]] = {
                "layer": names[module],
                "type": type(module).__name__,
                "params": sum(p.numel() for p in module.parameters(recurse=False)),
                "output_shape": "x".join(map(str, output.shape[1:])),
                "activation_bytes": output[0].numel() * output.element_size(),
            }

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    try:
        with FlopCounterMode(display=False) as counter:
            _run(model, _example_input(model, input_shape, 1))
    finally:
        for h in handles:
            h.remove()
    flops = counter.get_flop_counts()
    root = type(model).__name__
    for name, row in rows.items():
        row["macs"] = sum(flops.get(f"{root}.{name}", {}).values()) // 2
    columns = ["layer", "type", "params", "macs", "output_shape", "activation_bytes"]
    return pd.DataFrame(list(rows.values()), columns=columns)


def measure_latency(
    model: nn.Module,
    input_shape: Sequence[int] = ATARI_INPUT,
    batch_sizes: Sequence[int] = (1, 16),
    min_seconds: float = 0.3,
    min_repeats: int = 5,
) -> dict[int, float]:
    """Median CPU forward latency in ms per batch size (eval mode, no grad, after warm-up)."""
    result = {}
    for batch in batch_sizes:
        x = _example_input(model, input_shape, batch)
        for _ in range(2):
            _run(model, x)
        times: list[float] = []
        start = time.perf_counter()
        while len(times) < min_repeats or time.perf_counter() - start < min_seconds:
            t0 = time.perf_counter()
            _run(model, x)
            times.append((time.perf_counter() - t0) * 1e3)
        result[batch] = round(statistics.median(times), 4)
    return result


def profile_model(
    model: str | nn.Module,
    *,
    num_actions: int = FULL_ACTION_SET,
    input_shape: Sequence[int] = ATARI_INPUT,
    latency: bool = True,
    batch_sizes: Sequence[int] = (1, 16),
) -> ModelProfile:
    """Profile a registered model name (as an ActorCritic with `num_actions`) or any module."""
    name = model if isinstance(model, str) else type(model).__name__
    if isinstance(model, str):
        model = create_agent(
            model, num_actions, in_channels=input_shape[0], input_size=input_shape[-1]
        )
    layers = layer_table(model, input_shape)
    return ModelProfile(
        model=name,
        input_shape=tuple(input_shape),
        num_actions=num_actions,
        params=count_params(model),
        macs=count_macs(model, input_shape),
        activation_bytes=int(layers["activation_bytes"].sum()),
        latency_ms=measure_latency(model, input_shape, batch_sizes) if latency else {},
        torch_threads=torch.get_num_threads(),
        layers=layers,
    )


def profile_models(names: Sequence[str], *, reference: str | None = None, **kwargs) -> pd.DataFrame:
    """One row per model (params, MACs, activations, latency) plus ratios to `reference`."""
    rows = []
    for name in names:
        p = profile_model(name, **kwargs)
        row = {
            "model": p.model,
            "params": p.params,
            "macs": p.macs,
            "activation_bytes": p.activation_bytes,
        }
        row.update({f"latency_ms_batch{b}": ms for b, ms in p.latency_ms.items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    if reference is not None:
        ref = table.set_index("model").loc[reference]
        table[f"params_vs_{reference}"] = (table["params"] / ref["params"]).round(3)
        table[f"macs_vs_{reference}"] = (table["macs"] / ref["macs"]).round(3)
    return table
