"""Baselines: a DNNBuilder-like accelerator and FA3C's / A3C-S's reported figures.

`dnnbuilder_like` follows DNNBuilder's (Zhang et al. ICCAD 2018) layer-wise pipeline: one stage
per conv / linear layer, DSPs shared in proportion to each layer's MACs, channel parallelism
(output channels x input channels on the PE array: weight-stationary), and buffers sized to the
tiles, shrinking tiles until the buffers fit the BRAM. Pooling layers join the stage of the layer
before them. It is costed by the same predictor as searched designs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from workbench.hardware.accelerator import Accelerator, Chunk
from workbench.hardware.board import ZC706, Board
from workbench.hardware.layers import LayerSpec
from workbench.hardware.predictor import bram_blocks, traffic

FA3C_SOURCE = "A3C-S Table III, reported by FA3C [28] (Cho et al. ASPLOS 2019)"
FA3C_REPORTED: dict[str, dict[str, float]] = {
    "BeamRider": {"score": 3100, "fps": 260},
    "Breakout": {"score": 340, "fps": 260},
    "Pong": {"score": 0, "fps": 260},
    "Qbert": {"score": 6100, "fps": 260},
    "Seaquest": {"score": 170, "fps": 260},
    "SpaceInvaders": {"score": 830, "fps": 260},
}
"""FA3C's test scores and FPS as A3C-S Table III reports them (source: FA3C_SOURCE)."""

A3CS_SOURCE = "A3C-S Table III (searched agents on DAS-searched accelerators, ZC706, 900 DSPs)"
A3CS_REPORTED: dict[str, dict[str, float]] = {
    "BeamRider": {"score": 36745, "fps": 617.7},
    "Breakout": {"score": 670, "fps": 1596.3},
    "Pong": {"score": 20.9, "fps": 787.4},
    "Qbert": {"score": 15194, "fps": 1222.9},
    "Seaquest": {"score": 478940, "fps": 778.1},
    "SpaceInvaders": {"score": 109417, "fps": 535.6},
}
"""A3C-S's own test scores and FPS from its Table III (source: A3CS_SOURCE)."""


def dnnbuilder_like(layers: Sequence[LayerSpec], board: Board = ZC706) -> Accelerator:
    """One pipeline stage per conv / linear layer, PEs in proportion to MACs, tiles fit BRAM."""
    groups = _stages(layers)
    leads = [layers[group[0]] for group in groups]
    shares = _pe_shares([layer.macs for layer in leads], board.max_pes)
    chunks = []
    for group, lead, share in zip(groups, leads, shares, strict=True):
        rows, cols = pe_shape(lead, share)
        chunk = Chunk(
            layers=tuple(group),
            pe_rows=rows,
            pe_cols=cols,
            input_buffer_bytes=0,
            weight_buffer_bytes=0,
            output_buffer_bytes=0,
            tile_k=lead.out_channels,
            tile_c=lead.channels_per_group,
            tile_h=lead.out_h,
            tile_w=lead.out_w,
            dataflow="weight_stationary",
        )
        chunks.append(_fit_buffers(chunk, lead, board))
    return Accelerator(chunks=tuple(_shrink_to_bram(chunks, leads, board)), name="dnnbuilder")


def _stages(layers: Sequence[LayerSpec]) -> list[list[int]]:
    """Layer indices per stage: each conv / linear layer plus the pools that follow it."""
    groups: list[list[int]] = []
    leading: list[int] = []
    for i, layer in enumerate(layers):
        if layer.is_compute:
            groups.append([i])
        elif groups:
            groups[-1].append(i)
        else:
            leading.append(i)
    if not groups:
        raise ValueError("dnnbuilder_like needs at least one conv or linear layer")
    groups[0] = sorted(leading + groups[0])
    return groups


def _pe_shares(macs: Sequence[int], budget: int) -> list[int]:
    """PEs per stage in proportion to its MACs, at least 1 each, summing to at most `budget`."""
    total = sum(macs) or 1
    shares = [max(1, math.floor(budget * m / total)) for m in macs]
    while sum(shares) > budget and max(shares) > 1:
        shares[shares.index(max(shares))] -= 1
    return shares


def pe_shape(layer: LayerSpec, pes: int) -> tuple[int, int]:
    """Rows (output channels) x cols (input channels) within `pes` that need the fewest passes."""
    best: tuple[int, int, int, int] | None = None
    for rows in range(1, min(layer.out_channels, pes) + 1):
        cols = min(layer.channels_per_group, pes // rows)
        passes = -(-layer.out_channels // rows) * -(-layer.channels_per_group // cols)
        key = (passes, rows * cols, rows, cols)
        if best is None or key < best:
            best = key
    assert best is not None
    return best[2], best[3]


def _fit_buffers(chunk: Chunk, lead: LayerSpec, board: Board) -> Chunk:
    """Buffers exactly as large as the lead layer's tiles need."""
    _, need_in, need_w, need_out = traffic(lead, chunk, board.bytes_per_value)
    return replace(
        chunk,
        input_buffer_bytes=need_in,
        weight_buffer_bytes=need_w,
        output_buffer_bytes=need_out,
    )


def _shrink_to_bram(chunks: list[Chunk], leads: list[LayerSpec], board: Board) -> list[Chunk]:
    """Halve the largest buffer's tile in the most BRAM-hungry stage until the BRAM fits."""
    chunks = list(chunks)
    while sum(bram_blocks(chunk, board) for chunk in chunks) > board.bram36:
        order = sorted(range(len(chunks)), key=lambda c: -bram_blocks(chunks[c], board))
        for c in order:
            smaller = _halve_tile(chunks[c])
            if smaller is not None:
                chunks[c] = _fit_buffers(smaller, leads[c], board)
                break
        else:
            break  # every tile is 1: the design stays over budget and the predictor says so
    return chunks


def _halve_tile(chunk: Chunk) -> Chunk | None:
    """The chunk with the tile feeding its largest buffer halved; None if all tiles are 1."""
    by_buffer = {
        "weight_buffer_bytes": ("tile_k", "tile_c")
        if chunk.tile_k >= chunk.tile_c
        else ("tile_c", "tile_k"),
        "input_buffer_bytes": ("tile_h", "tile_c", "tile_w", "tile_k"),
        "output_buffer_bytes": ("tile_h", "tile_w", "tile_k"),
    }
    buffers = sorted(by_buffer, key=lambda name: -getattr(chunk, name))
    for name in buffers:
        for tile in by_buffer[name]:
            value = getattr(chunk, tile)
            if value > 1:
                return replace(chunk, **{tile: -(-value // 2)})
    return None
