"""Model registry: backbones are registered by name and built from input shapes (timm-style)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

from torch import nn

from workbench.names import check_name

BackboneFactory = Callable[..., nn.Module]
_REGISTRY: dict[str, BackboneFactory] = {}


def register_model(fn: BackboneFactory) -> BackboneFactory:
    """Register a backbone factory under its function name; it takes (in_channels, input_size)."""
    if fn.__name__ in _REGISTRY:
        raise ValueError(f"model {fn.__name__!r} is registered twice")
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Names of the registered backbones matching a glob pattern, sorted."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def create_model(name: str, *, in_channels: int = 4, input_size: int = 84) -> nn.Module:
    """Build the backbone `name` for (in_channels, input_size, input_size) uint8-scaled inputs.

    The module maps a float tensor (B, C, H, W) to features (B, module.out_features).
    """
    check_name(name, _REGISTRY, "model")
    if in_channels < 1 or input_size < 8:
        raise ValueError(
            f"bad input shape for {name}: in_channels={in_channels}, input_size={input_size}; "
            "expected in_channels >= 1 and input_size >= 8 (Atari: 4 x 84 x 84)."
        )
    return _REGISTRY[name](in_channels=in_channels, input_size=input_size)
