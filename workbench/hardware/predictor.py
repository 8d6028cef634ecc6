"""Analytical FPS / resource predictor for chunk-based pipeline accelerators.

In the spirit of DNN-Chip Predictor (Zhao et al. ICASSP 2020) and AutoDNNchip, which A3C-S uses:

Compute. A layer's loop nest (K output channels, C input channels per group, OH x OW output
pixels, kh x kw kernel) is tiled by the chunk's (Tk, Tc, Th, Tw), each tile clamped to the layer.
Two loops of a tile are unrolled on the PE array, the rest run in time, and a partial tile or a
tile that does not fill the array wastes lanes (`folds` counts the ceil-divisions exactly):

- weight_stationary: rows <- output channels, cols <- input channels; cycles =
  folds(K, Tk, rows) * folds(C, Tc, cols) * OH * OW * kh * kw. Depthwise (C = 1) uses one col.
- output_stationary: rows <- output channels, cols <- output pixels of a Th x Tw tile; cycles =
  folds(K, Tk, rows) * pixel_folds(OH, OW, Th, Tw, cols) * C * kh * kw.
- row_stationary (Eyeriss-like): rows <- (output channel, kernel row) pairs, cols <- output rows;
  cycles = folds_rs(K, Tk, kh, rows) * folds(OH, Th, cols) * C * OW * kw.

Cycles >= MACs / (rows * cols) in every case, so no design beats the compute roofline. Pooling
needs no DSP (comparators / adders in LUTs beside the array): ceil(C / rows) *
ceil(OH * OW / cols) * kh * kw cycles; its traffic is its input and output once.

Traffic. Every layer reads its weights and input from DRAM and writes its output at least once
(activations go through DRAM between layers; weights are not kept across frames). On top, by
the dataflow's loop order (outer to inner):

- weight_stationary (k > c > pixels): weights once; the input is re-read for every Tk block
  unless all of it fits the input buffer; partial sums of a Tk x OH x OW output slab spill
  (read + write per extra Tc block) unless the slab fits the output buffer.
- output_stationary (k > pixels > c): outputs once; a Tk block's weights are re-read for every
  spatial tile unless they fit the weight buffer; inputs as weight_stationary.
- row_stationary (pixels > k > c): outputs once; an all-channel input band stays for all Tk
  blocks if it fits the input buffer, else the input is re-read per Tk block; all weights are
  re-read per spatial tile unless they all fit the weight buffer.

Each tile's working set (Tk x Tc x kh x kw weights, its input window, Tk x Th x Tw outputs) must
fit its buffer, else the design is infeasible. Input halos between spatial tiles are not counted.

Latency. Buffers are double-buffered (ping-pong, so BRAM = 2 x buffers) and transfers overlap
compute: layer latency = max(cycles / clock, bytes / bandwidth), labelled compute- or memory-
bound; a chunk's latency is the sum over its layers. Chunks run concurrently as pipeline stages
and share the DRAM, so FPS = min(1 / slowest chunk, bandwidth / bytes per frame). Infeasible
designs (over the DSP or BRAM budget, or a tile that does not fit) get no FPS: `fps` is None.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from workbench.hardware.accelerator import PING_PONG, Accelerator, Chunk
from workbench.hardware.board import ZC706, Board
from workbench.hardware.layers import LayerSpec

LAYER_COLUMNS = (
    "layer",
    "kind",
    "chunk",
    "macs",
    "cycles",
    "bytes",
    "compute_s",
    "memory_s",
    "latency_s",
    "bound",
)


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer on its chunk, and the buffer bytes its tiles need."""

    index: int
    layer: str
    kind: str
    chunk: int
    macs: int
    cycles: int
    bytes: int
    compute_s: float
    memory_s: float
    need_input_bytes: int
    need_weight_bytes: int
    need_output_bytes: int

    @property
    def latency_s(self) -> float:
        """Transfers overlap compute: the slower of the two."""
        return max(self.compute_s, self.memory_s)

    @property
    def bound(self) -> str:
        """'compute' or 'memory'."""
        return "compute" if self.compute_s >= self.memory_s else "memory"


@dataclass(frozen=True)
class Prediction:
    """Predicted FPS, latencies and resources of a design; `fps` is None when infeasible."""

    feasible: bool
    reason: str
    """Why the design is infeasible, with the numbers; empty when feasible."""
    fps: float | None
    bound: str
    """What limits FPS: 'compute' or 'memory' (the slowest chunk's), or 'bandwidth' (the DRAM
    shared by all chunks)."""
    chunk_latency_s: tuple[float, ...]
    dsp_used: int
    bram_used: int
    macs: int
    bytes_per_frame: int
    overuse: float
    """Largest ratio of a resource used to the one available (<= 1 when feasible)."""
    layer_costs: tuple[LayerCost, ...] = field(repr=False)

    @functools.cached_property
    def layers(self) -> pd.DataFrame:
        """Per-layer table: cycles, bytes, compute/memory/latency seconds and bound."""
        rows = [{name: getattr(cost, name) for name in LAYER_COLUMNS} for cost in self.layer_costs]
        return pd.DataFrame(rows, columns=list(LAYER_COLUMNS))

    @property
    def latency_s(self) -> float | None:
        """Seconds per frame at the pipeline's throughput (1 / FPS); None when infeasible."""
        return None if self.fps is None else 1.0 / self.fps

    def summary(self) -> dict:
        """JSON-ready headline numbers."""
        return {
            "feasible": self.feasible,
            "reason": self.reason,
            "fps": self.fps,
            "bound": self.bound,
            "chunks": len(self.chunk_latency_s),
            "dsp_used": self.dsp_used,
            "bram_used": self.bram_used,
            "macs": self.macs,
            "bytes_per_frame": self.bytes_per_frame,
        }


def folds(size: int, tile: int, lanes: int) -> int:
    """Passes of `lanes` parallel units over `size` items cut in tiles of `tile` (last partial)."""
    full, rest = divmod(size, tile)
    return full * -(-tile // lanes) + -(-rest // lanes)


def pixel_folds(out_h: int, out_w: int, tile_h: int, tile_w: int, lanes: int) -> int:
    """Passes of `lanes` units over the pixels of every Th x Tw spatial tile of an OH x OW map."""
    full_h, rest_h = divmod(out_h, tile_h)
    full_w, rest_w = divmod(out_w, tile_w)
    total = 0
    for count_h, h in ((full_h, tile_h), (int(rest_h > 0), rest_h)):
        for count_w, w in ((full_w, tile_w), (int(rest_w > 0), rest_w)):
            total += count_h * count_w * -(-(h * w) // lanes)
    return total


def compute_cycles(layer: LayerSpec, chunk: Chunk) -> int:
    """Cycles of one layer on the chunk's PE array (see the module docstring for the mapping)."""
    rows, cols = chunk.pe_rows, chunk.pe_cols
    if layer.kind == "skip":
        return 0
    if layer.kind == "pool":
        pixels = layer.out_h * layer.out_w
        window = layer.kernel_h * layer.kernel_w
        return -(-layer.out_channels // rows) * -(-pixels // cols) * window
    k, c, oh, ow = layer.out_channels, layer.channels_per_group, layer.out_h, layer.out_w
    tk, tc, th, tw = _tiles(layer, chunk)
    kh, kw = layer.kernel_h, layer.kernel_w
    if chunk.dataflow == "weight_stationary":
        return folds(k, tk, rows) * folds(c, tc, cols) * oh * ow * kh * kw
    if chunk.dataflow == "output_stationary":
        return folds(k, tk, rows) * pixel_folds(oh, ow, th, tw, cols) * c * kh * kw
    full, rest = divmod(k, tk)
    k_folds = full * -(-(tk * kh) // rows) + -(-(rest * kh) // rows)
    return k_folds * folds(oh, th, cols) * c * ow * kw


def _tiles(layer: LayerSpec, chunk: Chunk) -> tuple[int, int, int, int]:
    return (
        min(chunk.tile_k, layer.out_channels),
        min(chunk.tile_c, layer.channels_per_group),
        min(chunk.tile_h, layer.out_h),
        min(chunk.tile_w, layer.out_w),
    )


def _input_window(layer: LayerSpec, th: int, tw: int) -> tuple[int, int]:
    rows = min(layer.in_h, (th - 1) * layer.stride + layer.kernel_h)
    cols = min(layer.in_w, (tw - 1) * layer.stride + layer.kernel_w)
    return rows, cols


def traffic(layer: LayerSpec, chunk: Chunk, bytes_per_value: int) -> tuple[int, int, int, int]:
    """(DRAM bytes per frame, input / weight / output buffer bytes its tiles need)."""
    b = bytes_per_value
    w, i, o = layer.weights, layer.input_elems, layer.output_elems
    if not layer.is_compute:
        return ((i + o) * b if layer.kind == "pool" else 0), 0, 0, 0
    k, c, oh, ow = layer.out_channels, layer.channels_per_group, layer.out_h, layer.out_w
    tk, tc, th, tw = _tiles(layer, chunk)
    kh, kw, groups = layer.kernel_h, layer.kernel_w, layer.groups
    n_k, n_c = -(-k // tk), -(-c // tc)
    n_s = -(-oh // th) * -(-ow // tw)
    win_h, win_w = _input_window(layer, th, tw)
    tile_in_channels = tc * min(groups, -(-(tk * groups) // k))
    need_in = tile_in_channels * win_h * win_w * b
    need_w = tk * tc * kh * kw * b
    need_out = tk * th * tw * b
    in_refetch = -(-n_k // groups)  # grouped convs: a Tk block reads only its groups' inputs
    inputs = i if i * b <= chunk.input_buffer_bytes else i * in_refetch
    if chunk.dataflow == "weight_stationary":
        slab_fits = n_c == 1 or tk * oh * ow * b <= chunk.output_buffer_bytes
        outputs = o if slab_fits else o * (2 * n_c - 1)
        weights = w
    elif chunk.dataflow == "output_stationary":
        outputs = o
        weights = w if tk * c * kh * kw * b <= chunk.weight_buffer_bytes else w * n_s
    else:
        band = layer.in_channels * win_h * win_w * b
        inputs = i if band <= chunk.input_buffer_bytes else i * in_refetch
        outputs = o
        weights = w if w * b <= chunk.weight_buffer_bytes else w * n_s
    return (weights + inputs + outputs) * b, need_in, need_w, need_out


def bram_blocks(chunk: Chunk, board: Board) -> int:
    """BRAM36 blocks of a chunk's buffers, each rounded up to whole blocks and double-buffered."""
    per_buffer = (
        -(-chunk.input_buffer_bytes // board.bram36_bytes),
        -(-chunk.weight_buffer_bytes // board.bram36_bytes),
        -(-chunk.output_buffer_bytes // board.bram36_bytes),
    )
    return PING_PONG * sum(per_buffer)


def predict(
    layers: Sequence[LayerSpec], accelerator: Accelerator, board: Board = ZC706
) -> Prediction:
    """Predict FPS, per-chunk latency, per-layer costs and resources of a design on a board."""
    accelerator.check_layers(layers)
    costs: list[LayerCost] = []
    problems: list[tuple[str, float]] = []
    for c, chunk in enumerate(accelerator.chunks):
        chunk_costs = [layer_cost(layers[i], i, c, chunk, board) for i in chunk.layers]
        costs += chunk_costs
        problems += _buffer_problems(c, chunk, chunk_costs)
    costs.sort(key=lambda cost: cost.index)
    chunk_latency = [0.0] * len(accelerator.chunks)
    for cost in costs:
        chunk_latency[cost.chunk] += cost.latency_s
    dsp_used = accelerator.pes * board.dsp_per_mac
    bram_used = sum(bram_blocks(chunk, board) for chunk in accelerator.chunks)
    problems += _budget_problems(dsp_used, bram_used, board)
    bytes_per_frame = sum(cost.bytes for cost in costs)
    slowest = max(range(len(chunk_latency)), key=chunk_latency.__getitem__)
    fps, bound = _pipeline_fps(chunk_latency[slowest], bytes_per_frame, board.bandwidth_bytes_per_s)
    return Prediction(
        feasible=not problems,
        reason="; ".join(message for message, _ in problems),
        fps=None if problems else fps,
        bound=bound if bound == "bandwidth" else _chunk_bound(costs, slowest),
        chunk_latency_s=tuple(chunk_latency),
        dsp_used=dsp_used,
        bram_used=bram_used,
        macs=sum(layer.macs for layer in layers),
        bytes_per_frame=bytes_per_frame,
        overuse=max([dsp_used / board.dsp, bram_used / board.bram36] + [r for _, r in problems]),
        layer_costs=tuple(costs),
    )


def layer_cost(layer: LayerSpec, index: int, c: int, chunk: Chunk, board: Board) -> LayerCost:
    """Cycles, DRAM bytes, seconds and tile buffer needs of layer `index` on chunk `c`."""
    cycles = compute_cycles(layer, chunk)
    nbytes, need_in, need_w, need_out = traffic(layer, chunk, board.bytes_per_value)
    return LayerCost(
        index=index,
        layer=layer.name,
        kind=layer.kind,
        chunk=c,
        macs=layer.macs,
        cycles=cycles,
        bytes=nbytes,
        compute_s=cycles / board.clock_hz,
        memory_s=nbytes / board.bandwidth_bytes_per_s,
        need_input_bytes=need_in,
        need_weight_bytes=need_w,
        need_output_bytes=need_out,
    )


def _budget_problems(dsp_used: int, bram_used: int, board: Board) -> list[tuple[str, float]]:
    problems = []
    if dsp_used > board.dsp:
        message = f"uses {dsp_used} DSPs > {board.dsp} on {board.name}"
        problems.append((message, dsp_used / board.dsp))
    if bram_used > board.bram36:
        message = f"uses {bram_used} BRAM36 (buffers x{PING_PONG}) > {board.bram36} on {board.name}"
        problems.append((message, bram_used / board.bram36))
    return problems


def _ratio(used: float, available: float) -> float:
    return used / available if available > 0 else math.inf


def _buffer_problems(c: int, chunk: Chunk, costs: Sequence[LayerCost]) -> list[tuple[str, float]]:
    problems = []
    for name in ("input", "weight", "output"):
        required = max(getattr(cost, f"need_{name}_bytes") for cost in costs)
        have = getattr(chunk, f"{name}_buffer_bytes")
        if required > have:
            problems.append(
                (
                    f"chunks[{c}].{name}_buffer_bytes={have} is smaller than its largest tile "
                    f"({required} bytes)",
                    _ratio(required, have),
                )
            )
    return problems


def _pipeline_fps(slowest_s: float, bytes_per_frame: int, bandwidth: float) -> tuple[float, str]:
    stage_fps = math.inf if slowest_s <= 0 else 1.0 / slowest_s
    dram_fps = math.inf if bytes_per_frame <= 0 else bandwidth / bytes_per_frame
    if dram_fps < stage_fps:
        return dram_fps, "bandwidth"
    return stage_fps, "compute"


def _chunk_bound(costs: Sequence[LayerCost], chunk: int) -> str:
    compute = sum(c.latency_s for c in costs if c.chunk == chunk and c.bound == "compute")
    memory = sum(c.latency_s for c in costs if c.chunk == chunk and c.bound == "memory")
    return "compute" if compute >= memory else "memory"


def min_bytes_per_frame(layers: Sequence[LayerSpec], board: Board = ZC706) -> int:
    """DRAM bytes no design can avoid: all weights, the first input and the last output once."""
    values = sum(layer.weights for layer in layers)
    values += layers[0].input_elems + layers[-1].output_elems
    return values * board.bytes_per_value


def compute_roofline_fps(
    layers: Sequence[LayerSpec], board: Board = ZC706, dsp: int | None = None
) -> float:
    """FPS if `dsp` DSPs (default: the board's budget) did a useful MAC every cycle."""
    macs = sum(layer.macs for layer in layers)
    pes = (board.dsp if dsp is None else dsp) // board.dsp_per_mac
    return math.inf if macs == 0 else pes * board.clock_hz / macs


def bandwidth_roofline_fps(layers: Sequence[LayerSpec], board: Board = ZC706) -> float:
    """FPS if the DRAM moved only the unavoidable bytes at full bandwidth."""
    return board.bandwidth_bytes_per_s / min_bytes_per_frame(layers, board)


def roofline_fps(layers: Sequence[LayerSpec], board: Board = ZC706) -> float:
    """Upper bound on any design's FPS: min(compute roofline, bandwidth roofline)."""
    return min(compute_roofline_fps(layers, board), bandwidth_roofline_fps(layers, board))
