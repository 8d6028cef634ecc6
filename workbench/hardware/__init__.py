"""Accelerator side of A3C-S: layers, board, chunk-pipeline template, predictor, DAS, baselines.

layers = extract_layers(create_model("resnet20"))
result = das_search(layers, ZC706)              # differentiable accelerator search (Eq. 9)
result.best_prediction.fps, predict(layers, dnnbuilder_like(layers, ZC706)).fps
"""

from workbench.hardware.accelerator import (
    DATAFLOWS,
    Accelerator,
    AcceleratorError,
    Chunk,
    DesignSpace,
    Parameter,
    load_accelerator,
    save_accelerator,
)
from workbench.hardware.baselines import (
    A3CS_REPORTED,
    A3CS_SOURCE,
    FA3C_REPORTED,
    FA3C_SOURCE,
    dnnbuilder_like,
)
from workbench.hardware.board import ZC706, Board
from workbench.hardware.das import (
    DASResult,
    SearchResult,
    das_search,
    design_cost,
    exhaustive_search,
    random_search,
)
from workbench.hardware.layers import (
    LayerSpec,
    conv_spec,
    extract_layers,
    layers_table,
    linear_spec,
    total_macs,
)
from workbench.hardware.predictor import (
    LayerCost,
    Prediction,
    bandwidth_roofline_fps,
    compute_roofline_fps,
    min_bytes_per_frame,
    predict,
    roofline_fps,
)

__all__ = [
    "A3CS_REPORTED",
    "A3CS_SOURCE",
    "DATAFLOWS",
    "FA3C_REPORTED",
    "FA3C_SOURCE",
    "ZC706",
    "Accelerator",
    "AcceleratorError",
    "Board",
    "Chunk",
    "DASResult",
    "DesignSpace",
    "LayerCost",
    "LayerSpec",
    "Parameter",
    "Prediction",
    "SearchResult",
    "bandwidth_roofline_fps",
    "compute_roofline_fps",
    "conv_spec",
    "das_search",
    "design_cost",
    "dnnbuilder_like",
    "exhaustive_search",
    "extract_layers",
    "layers_table",
    "linear_spec",
    "load_accelerator",
    "min_bytes_per_frame",
    "predict",
    "random_search",
    "roofline_fps",
    "save_accelerator",
    "total_macs",
]
