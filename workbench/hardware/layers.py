"""The layers an accelerator runs: one `LayerSpec` per conv, linear and pooling call of a forward.

MACs follow `workbench.models.profile.count_macs` (PyTorch's FlopCounterMode, FLOPs / 2): convs
and linears only, biases not counted. Pooling layers are listed (they take cycles on the
accelerator) with 0 MACs, as count_macs gives them none; their comparisons / additions are kept
apart in `pool_ops`. Skip connections (nn.Identity, ChannelPadShortcut) have no MACs and no
weights; they are left out unless `keep_skips=True` (kind `skip`), and the predictor charges them
nothing: the residual add is fused into the producing layer's output stage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd
import torch
from torch import nn

from workbench.models.blocks import ChannelPadShortcut

KINDS = ("conv", "depthwise", "pointwise", "linear", "pool", "skip")
COMPUTE_KINDS = ("conv", "depthwise", "pointwise", "linear")
POOLS = (nn.AvgPool2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
SKIPS = (nn.Identity, ChannelPadShortcut)


@dataclass(frozen=True)
class LayerSpec:
    """Shape and cost of one layer call on one frame (batch 1); linear = 1x1 conv over rows."""

    name: str
    kind: str
    in_channels: int
    out_channels: int
    in_h: int
    in_w: int
    out_h: int
    out_w: int
    kernel_h: int = 1
    kernel_w: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    macs: int = 0
    weights: int = 0
    """Parameters read by the layer (weight and bias)."""
    input_elems: int = 0
    output_elems: int = 0
    pool_ops: int = 0
    """Comparisons / additions of a pooling layer (output elements x window); 0 otherwise."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"LayerSpec.kind must be one of {KINDS}, got {self.kind!r}")
        for name in ("in_channels", "out_channels", "in_h", "in_w", "out_h", "out_w"):
            _check_int(self, name, minimum=1)
        for name in ("kernel_h", "kernel_w", "stride", "groups"):
            _check_int(self, name, minimum=1)
        for name in ("padding", "macs", "weights", "input_elems", "output_elems", "pool_ops"):
            _check_int(self, name, minimum=0)

    @property
    def channels_per_group(self) -> int:
        """Input channels each output channel reads (1 for depthwise)."""
        return self.in_channels // self.groups

    @property
    def is_compute(self) -> bool:
        """Whether the layer does MACs on the PE array (conv or linear)."""
        return self.kind in COMPUTE_KINDS


def _check_int(owner: LayerSpec, name: str, minimum: int) -> None:
    value = getattr(owner, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"LayerSpec.{name} must be an integer >= {minimum}, got {value!r}")


def conv_spec(
    name: str,
    in_channels: int,
    out_channels: int,
    in_size: int | tuple[int, int],
    kernel: int | tuple[int, int],
    stride: int = 1,
    padding: int = 0,
    groups: int = 1,
    bias: bool = False,
) -> LayerSpec:
    """A conv layer's spec from its hyper-parameters (for tests and hand-written networks)."""
    in_h, in_w = _pair(in_size)
    kh, kw = _pair(kernel)
    out_h = (in_h + 2 * padding - kh) // stride + 1
    out_w = (in_w + 2 * padding - kw) // stride + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"{name}: kernel {kh}x{kw} does not fit the {in_h}x{in_w} input")
    weight_count = out_channels * (in_channels // groups) * kh * kw
    return LayerSpec(
        name=name,
        kind=_conv_kind(in_channels, groups, kh, kw),
        in_channels=in_channels,
        out_channels=out_channels,
        in_h=in_h,
        in_w=in_w,
        out_h=out_h,
        out_w=out_w,
        kernel_h=kh,
        kernel_w=kw,
        stride=stride,
        padding=padding,
        groups=groups,
        macs=weight_count * out_h * out_w,
        weights=weight_count + (out_channels if bias else 0),
        input_elems=in_channels * in_h * in_w,
        output_elems=out_channels * out_h * out_w,
    )


def linear_spec(name: str, in_features: int, out_features: int, bias: bool = True) -> LayerSpec:
    """A linear layer's spec on one input row (for tests and hand-written networks)."""
    return LayerSpec(
        name=name,
        kind="linear",
        in_channels=in_features,
        out_channels=out_features,
        in_h=1,
        in_w=1,
        out_h=1,
        out_w=1,
        macs=in_features * out_features,
        weights=in_features * out_features + (out_features if bias else 0),
        input_elems=in_features,
        output_elems=out_features,
    )


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _conv_kind(in_channels: int, groups: int, kh: int, kw: int) -> str:
    if groups == in_channels > 1:
        return "depthwise"
    if kh == kw == 1 and groups == 1:
        return "pointwise"
    return "conv"


def _from_conv(name: str, m: nn.Conv2d, x: torch.Tensor, y: torch.Tensor) -> LayerSpec:
    kh, kw = m.kernel_size
    return LayerSpec(
        name=name,
        kind=_conv_kind(m.in_channels, m.groups, kh, kw),
        in_channels=m.in_channels,
        out_channels=m.out_channels,
        in_h=x.shape[-2],
        in_w=x.shape[-1],
        out_h=y.shape[-2],
        out_w=y.shape[-1],
        kernel_h=kh,
        kernel_w=kw,
        stride=m.stride[0],
        padding=m.padding[0] if isinstance(m.padding, tuple) else 0,
        groups=m.groups,
        macs=m.weight.numel() * y.shape[-2] * y.shape[-1],
        weights=sum(p.numel() for p in m.parameters(recurse=False)),
        input_elems=x[0].numel(),
        output_elems=y[0].numel(),
    )


def _from_linear(name: str, m: nn.Linear, x: torch.Tensor, y: torch.Tensor) -> LayerSpec:
    rows = x[0].numel() // m.in_features  # extra leading dims act as pixels of a 1x1 conv
    return LayerSpec(
        name=name,
        kind="linear",
        in_channels=m.in_features,
        out_channels=m.out_features,
        in_h=rows,
        in_w=1,
        out_h=rows,
        out_w=1,
        macs=rows * m.in_features * m.out_features,
        weights=sum(p.numel() for p in m.parameters(recurse=False)),
        input_elems=x[0].numel(),
        output_elems=y[0].numel(),
    )


def _from_pool(name: str, m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> LayerSpec:
    in_h, in_w, out_h, out_w = x.shape[-2], x.shape[-1], y.shape[-2], y.shape[-1]
    if isinstance(m, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        kh, kw, stride = math.ceil(in_h / out_h), math.ceil(in_w / out_w), in_h // out_h
        padding = 0
    else:
        kh, kw = _pair(m.kernel_size)
        stride = _pair(m.stride if m.stride is not None else m.kernel_size)[0]
        padding = _pair(m.padding)[0]
    channels = x.shape[-3]
    return LayerSpec(
        name=name,
        kind="pool",
        in_channels=channels,
        out_channels=channels,
        in_h=in_h,
        in_w=in_w,
        out_h=out_h,
        out_w=out_w,
        kernel_h=kh,
        kernel_w=kw,
        stride=max(stride, 1),
        padding=padding,
        groups=channels,
        input_elems=x[0].numel(),
        output_elems=y[0].numel(),
        pool_ops=y[0].numel() * kh * kw,
    )


def _from_skip(name: str, m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> LayerSpec:
    return LayerSpec(
        name=name,
        kind="skip",
        in_channels=x.shape[-3] if x.dim() >= 3 else x.shape[-1],
        out_channels=y.shape[-3] if y.dim() >= 3 else y.shape[-1],
        in_h=x.shape[-2] if x.dim() >= 3 else 1,
        in_w=x.shape[-1] if x.dim() >= 3 else 1,
        out_h=y.shape[-2] if y.dim() >= 3 else 1,
        out_w=y.shape[-1] if y.dim() >= 3 else 1,
        input_elems=x[0].numel(),
        output_elems=y[0].numel(),
    )


def _spec(name: str, m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> LayerSpec | None:
    if isinstance(m, nn.Conv2d):
        return _from_conv(name, m, x, y)
    if isinstance(m, nn.Linear):
        return _from_linear(name, m, x, y)
    if isinstance(m, POOLS):
        return _from_pool(name, m, x, y)
    if isinstance(m, SKIPS):
        return _from_skip(name, m, x, y)
    return None


def extract_layers(
    model: nn.Module, input_shape: Sequence[int] = (4, 84, 84), *, keep_skips: bool = False
) -> list[LayerSpec]:
    """Layers of one batch-1 forward in execution order (a module called twice appears twice).

    Models with `forward_features` (ActorCritic) get uint8 frames, others float zeros, as
    `count_macs` feeds them.
    """
    specs: list[LayerSpec] = []
    names = {m: n for n, m in model.named_modules()}
    calls: dict[str, int] = {}

    def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        name = names[module] or type(module).__name__
        calls[name] = calls.get(name, 0) + 1
        if calls[name] > 1:
            name = f"{name}#{calls[name]}"
        spec = _spec(name, module, inputs[0], output)
        if spec is not None and (keep_skips or spec.kind != "skip"):
            specs.append(spec)

    watched = (nn.Conv2d, nn.Linear, *POOLS, *SKIPS)
    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, watched)]
    try:
        _forward(model, input_shape)
    finally:
        for handle in handles:
            handle.remove()
    return specs


def _forward(model: nn.Module, input_shape: Sequence[int]) -> None:
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters(), torch.empty(0)).device
        dtype = torch.uint8 if hasattr(model, "forward_features") else torch.float32
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), dtype=dtype, device=device))
    finally:
        model.train(was_training)


def layers_table(layers: Sequence[LayerSpec]) -> pd.DataFrame:
    """One row per layer with every LayerSpec field (for notebooks and reports)."""
    return pd.DataFrame([asdict(layer) for layer in layers])


def total_macs(layers: Sequence[LayerSpec]) -> int:
    """MACs per frame of the layers (count_macs' convention: conv and linear only)."""
    return sum(layer.macs for layer in layers)
