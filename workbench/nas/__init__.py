"""Differentiable architecture search pieces (A2D, A3C-S): ops, spaces, samplers, supernet, cost.

No training loop lives here: a search loop combines `Supernet` (as an `ActorCritic` backbone),
a sampler from `workbench.nas.sampling` with `temperature(step)`, and `cost_loss`.
"""

from workbench.nas.cost import (
    arch_macs,
    backbone_macs,
    cost_loss,
    expected_macs,
    module_macs,
    op_macs_table,
)
from workbench.nas.ops import OPS, build_op
from workbench.nas.sampling import (
    ArgmaxSampler,
    HardGumbelTopK,
    Sampler,
    SampleResult,
    SoftGumbel,
    gumbel_noise,
    temperature,
)
from workbench.nas.space import (
    NAMED_ARCHS,
    RESNET_LIKE_A2D,
    RESNET_LIKE_A3CS,
    SPACES,
    ArchitectureError,
    CellSpec,
    SearchedNet,
    SearchSpace,
    build_model,
    cheapest_arch,
    get_arch,
    get_space,
    infer_space,
    load_arch,
    random_arch,
    save_arch,
    uniform_arch,
    validate_arch,
)
from workbench.nas.supernet import MixedCell, Supernet

__all__ = [
    "NAMED_ARCHS",
    "OPS",
    "RESNET_LIKE_A2D",
    "RESNET_LIKE_A3CS",
    "SPACES",
    "ArchitectureError",
    "ArgmaxSampler",
    "CellSpec",
    "HardGumbelTopK",
    "MixedCell",
    "SampleResult",
    "Sampler",
    "SearchSpace",
    "SearchedNet",
    "SoftGumbel",
    "Supernet",
    "arch_macs",
    "backbone_macs",
    "build_model",
    "build_op",
    "cheapest_arch",
    "cost_loss",
    "expected_macs",
    "get_arch",
    "get_space",
    "gumbel_noise",
    "infer_space",
    "load_arch",
    "module_macs",
    "op_macs_table",
    "random_arch",
    "save_arch",
    "temperature",
    "uniform_arch",
    "validate_arch",
]
