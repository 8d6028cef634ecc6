"""The chunk-based pipeline accelerator template (Shen et al. ISCA 2017; A3C-S Sec. IV-C, V-A).

An `Accelerator` is a list of `Chunk`s (sub-accelerators) that run as pipeline stages, one frame
each at a time. A chunk runs its layers one after the other on its own PE array (rows x cols MAC
units) with its own input / weight / output buffers, a tiling of the conv loop nest (Tk output
channels, Tc input channels, Th x Tw output pixels on chip at a time) and a dataflow (loop order).
A3C-S lets a chunk run layers that are "not necessarily consecutive", so a chunk holds any set of
layer indices; every layer runs on exactly one chunk. Designs are plain JSON (`to_dict`).

`DesignSpace` lists the searchable choices (A3C-S's phi): the number of chunks, the layer
allocation, and per chunk the PE array's size and shape, the buffer split, the four tiles and
the dataflow.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from workbench.hardware.board import ZC706, Board
from workbench.hardware.layers import LayerSpec
from workbench.names import check_name, closest_names

DATAFLOWS = ("weight_stationary", "output_stationary", "row_stationary")
TILES = ("tile_k", "tile_c", "tile_h", "tile_w")
BUFFERS = ("input_buffer_bytes", "weight_buffer_bytes", "output_buffer_bytes")
PING_PONG = 2
"""Copies of each buffer in BRAM: double buffering lets DRAM transfers overlap compute."""


class AcceleratorError(ValueError):
    """An accelerator description that cannot be built; the message names the field."""


@dataclass(frozen=True)
class Chunk:
    """One pipeline stage: its layers, PE array, buffers, tiling and dataflow."""

    layers: tuple[int, ...]
    """Indices (into the network's layer list) of the layers this chunk runs, in order."""
    pe_rows: int
    pe_cols: int
    input_buffer_bytes: int
    weight_buffer_bytes: int
    output_buffer_bytes: int
    tile_k: int
    """Output channels on chip at a time."""
    tile_c: int
    """Input channels (per group) on chip at a time."""
    tile_h: int
    """Output rows on chip at a time."""
    tile_w: int
    """Output columns on chip at a time."""
    dataflow: str = "weight_stationary"

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if not self.layers:
            raise AcceleratorError("Chunk.layers must name at least one layer")
        for index in self.layers:
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise AcceleratorError(f"Chunk.layers must hold layer indices >= 0, got {index!r}")
        if len(set(self.layers)) != len(self.layers):
            raise AcceleratorError(f"Chunk.layers lists a layer twice: {list(self.layers)}")
        for name in ("pe_rows", "pe_cols", *TILES):
            _check_int(name, getattr(self, name), minimum=1)
        for name in BUFFERS:
            _check_int(name, getattr(self, name), minimum=0)
        if self.dataflow not in DATAFLOWS:
            check_name(self.dataflow, DATAFLOWS, "dataflow")

    @property
    def pes(self) -> int:
        """MAC units in the PE array."""
        return self.pe_rows * self.pe_cols

    @property
    def buffer_bytes(self) -> int:
        """On-chip buffer capacity (one copy; the predictor doubles it for ping-pong)."""
        return self.input_buffer_bytes + self.weight_buffer_bytes + self.output_buffer_bytes


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise AcceleratorError(f"Chunk.{name} must be {what}, got {value!r}")


@dataclass(frozen=True)
class Accelerator:
    """A chunk-based pipeline design: every layer of the network runs on exactly one chunk."""

    chunks: tuple[Chunk, ...]
    name: str = "accelerator"

    def __post_init__(self) -> None:
        object.__setattr__(self, "chunks", tuple(self.chunks))
        if not self.chunks:
            raise AcceleratorError("Accelerator.chunks must hold at least one chunk")
        seen: dict[int, int] = {}
        for c, chunk in enumerate(self.chunks):
            for index in chunk.layers:
                if index in seen:
                    raise AcceleratorError(
                        f"layer {index} is in chunk {seen[index]} and chunk {c}; "
                        "each layer runs on exactly one chunk"
                    )
                seen[index] = c

    @property
    def pes(self) -> int:
        """MAC units over all chunks."""
        return sum(chunk.pes for chunk in self.chunks)

    @property
    def num_layers(self) -> int:
        """Layers the design runs."""
        return sum(len(chunk.layers) for chunk in self.chunks)

    def check_layers(self, layers: Sequence[LayerSpec]) -> None:
        """Raise AcceleratorError unless the design runs exactly these layers with sane tiles.

        A tile larger than a layer is clamped to that layer; a tile larger than every layer
        of its chunk is an error (the design was made for another network).
        """
        covered = sorted(i for chunk in self.chunks for i in chunk.layers)
        if covered != list(range(len(layers))):
            missing = sorted(set(range(len(layers))) - set(covered))
            extra = sorted(set(covered) - set(range(len(layers))))
            raise AcceleratorError(
                f"chunks.layers must cover layers 0..{len(layers) - 1} once each; "
                f"missing {missing}, out of range {extra}"
            )
        for c, chunk in enumerate(self.chunks):
            dims = chunk_dims(layers, chunk)
            if dims is None:
                continue
            for tile, largest in zip(TILES, dims, strict=True):
                if getattr(chunk, tile) > largest:
                    raise AcceleratorError(
                        f"chunks[{c}].{tile}={getattr(chunk, tile)} is larger than every layer "
                        f"the chunk runs (largest: {largest}); use at most {largest}"
                    )

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"name": self.name, "chunks": [_chunk_dict(chunk) for chunk in self.chunks]}

    @classmethod
    def from_dict(cls, data: Mapping) -> Accelerator:
        """Build from `to_dict`'s form; unknown or missing fields are errors that name them."""
        if not isinstance(data, Mapping):
            raise AcceleratorError(f"an accelerator is a JSON object, got {type(data).__name__}")
        _check_keys(data, ("name", "chunks"), ("chunks",), "accelerator")
        if not isinstance(data["chunks"], list):
            raise AcceleratorError("accelerator field 'chunks' must be a list of chunk objects")
        chunks = []
        for c, raw in enumerate(data["chunks"]):
            if not isinstance(raw, Mapping):
                raise AcceleratorError(f"chunks[{c}] must be a JSON object")
            names = tuple(f.name for f in fields(Chunk))
            _check_keys(raw, names, tuple(n for n in names if n != "dataflow"), f"chunks[{c}]")
            values = dict(raw)
            if isinstance(values["layers"], list):
                values["layers"] = tuple(values["layers"])
            try:
                chunks.append(Chunk(**values))
            except ValueError as err:
                raise AcceleratorError(f"chunks[{c}]: {err}") from None
        return cls(chunks=tuple(chunks), name=str(data.get("name", "accelerator")))


def _chunk_dict(chunk: Chunk) -> dict:
    data = asdict(chunk)
    data["layers"] = list(chunk.layers)
    return data


def _check_keys(data: Mapping, valid: tuple[str, ...], required: tuple[str, ...], where: str):
    for key in data:
        if key not in valid:
            close = closest_names(str(key), valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise AcceleratorError(
                f"{where}: unknown field {key!r}{hint}; valid fields: {', '.join(valid)}"
            )
    missing = [key for key in required if key not in data]
    if missing:
        raise AcceleratorError(f"{where}: missing field(s) {', '.join(map(repr, missing))}")


def load_accelerator(path: str | Path) -> Accelerator:
    """Read an accelerator from a JSON file (errors name the bad field)."""
    with open(path) as f:
        return Accelerator.from_dict(json.load(f))


def save_accelerator(accelerator: Accelerator, path: str | Path) -> None:
    """Write an accelerator as JSON."""
    Path(path).write_text(json.dumps(accelerator.to_dict(), indent=2) + "\n")


def chunk_dims(layers: Sequence[LayerSpec], chunk: Chunk) -> tuple[int, int, int, int] | None:
    """Largest (out channels, in channels per group, out rows, out cols) of the chunk's MAC
    layers, the bounds of its tiles; None when it runs no conv or linear layer."""
    compute = [layers[i] for i in chunk.layers if i < len(layers) and layers[i].is_compute]
    if not compute:
        return None
    return (
        max(layer.out_channels for layer in compute),
        max(layer.channels_per_group for layer in compute),
        max(layer.out_h for layer in compute),
        max(layer.out_w for layer in compute),
    )


# --------------------------------------------------------------------------- design space

PE_DIMS = (1, 2, 4, 8, 12, 14, 16, 24, 28, 32, 48, 56, 64)
BUFFER_SPLITS = ((1, 1, 1), (2, 1, 1), (1, 2, 1), (1, 1, 2), (4, 1, 1), (1, 4, 1), (1, 1, 4))
"""Input : weight : output shares of a chunk's buffer capacity."""
CHANNEL_TILES = (4, 8, 16, 32, 64, 128, 256, 512)
SPATIAL_TILES = (1, 2, 4, 8, 16, 32, 64)
SHIFTS = (-1, 0, 1)
PE_SHARES = tuple(k / 12 for k in range(1, 13))
"""A chunk's PE weight: its PEs are weight / (sum over the used chunks) x the DSP budget."""
OWN_CHUNK_KINDS = ("conv", "depthwise", "pointwise", "linear")
"""Layer kinds a design may give a chunk of their own (`DesignSpace`'s `{kind}.own_chunk`)."""
CHUNK_PARAMETERS = ("pe_share", "pe_rows", "buffer_split", *TILES, "dataflow")


@dataclass(frozen=True)
class Parameter:
    """One searchable knob: its label (e.g. `chunk0.pe_rows`, `layer3.shift`) and its options."""

    name: str
    options: tuple


class DesignSpace:
    """The searchable accelerator choices for a network on a board (A3C-S's phi).

    A point is a tuple of option indices, one per `parameters` entry:

    - `num_chunks` M in 1..max_chunks: the shared chunks;
    - `layer{i}.shift` in SHIFTS: the layer allocation. Layer i runs on shared chunk
      clip(b_i + shift_i, 0, M - 1), where b_i splits the network into M contiguous runs of
      about equal MACs (so shifts move layers between neighbouring stages); chunks left empty are
      dropped;
    - `{kind}.own_chunk` in (False, True), per layer kind of `own_chunk_kinds` the network has
      (depthwise, pointwise, ...): True moves every layer of that kind onto a chunk of its own,
      and the remaining layers are cut into the M runs. This is how non-consecutive allocations,
      which A3C-S allows, are reached: one PE array shape and dataflow rarely suits both a 3x3
      conv and a depthwise conv (one input channel per group);
    - per chunk slot (max_chunks shared slots, then one per own-chunk kind):
      `chunk{s}.pe_share` / `chunk_{kind}.pe_share` and `.pe_rows`, the PE array's size and shape
      (rows from `pe_dims`, cols = floor(w x DSP budget / dsp_per_mac / rows), w = the chunk's
      share over the sum of the used chunks' shares: every design spends the whole DSP budget
      apart from rounding and the shape, so no sample is lost to an over-budget sum),
      `.buffer_split` (the chunk's equal share of the board's BRAM, split between input, weight
      and output buffers in whole BRAM36 blocks, double-buffered), `.tile_k/c/h/w` and
      `.dataflow`.

    Buffers always fit the BRAM; the DSP budget and tiles that overflow their buffer are left
    to the predictor to reject. `build` clamps each tile to the largest layer of its chunk.
    """

    def __init__(
        self,
        layers: Sequence[LayerSpec],
        board: Board = ZC706,
        *,
        max_chunks: int = 4,
        pe_dims: Sequence[int] = PE_DIMS,
        pe_shares: Sequence[float] = PE_SHARES,
        buffer_splits: Sequence[tuple[int, int, int]] = BUFFER_SPLITS,
        channel_tiles: Sequence[int] = CHANNEL_TILES,
        spatial_tiles: Sequence[int] = SPATIAL_TILES,
        dataflows: Sequence[str] = DATAFLOWS,
        shifts: Sequence[int] = SHIFTS,
        own_chunk_kinds: Sequence[str] = OWN_CHUNK_KINDS,
    ) -> None:
        _check_menus(
            layers,
            max_chunks,
            pe_dims=pe_dims,
            pe_shares=pe_shares,
            buffer_splits=buffer_splits,
            channel_tiles=channel_tiles,
            spatial_tiles=spatial_tiles,
            dataflows=dataflows,
            shifts=shifts,
        )
        for kind in own_chunk_kinds:
            check_name(kind, OWN_CHUNK_KINDS, "own_chunk_kinds entry")
        self.layers = tuple(layers)
        self.board = board
        self.max_chunks = min(max_chunks, len(self.layers))
        present = {layer.kind for layer in self.layers}
        self.own_kinds = tuple(k for k in OWN_CHUNK_KINDS if k in own_chunk_kinds and k in present)
        menus = {
            "pe_share": tuple(pe_shares),
            "pe_rows": tuple(pe_dims),
            "buffer_split": tuple(tuple(s) for s in buffer_splits),
            "tile_k": tuple(channel_tiles),
            "tile_c": tuple(channel_tiles),
            "tile_h": tuple(spatial_tiles),
            "tile_w": tuple(spatial_tiles),
            "dataflow": tuple(dataflows),
        }
        slots = [f"chunk{s}" for s in range(self.max_chunks)]
        slots += [f"chunk_{kind}" for kind in self.own_kinds]
        self.parameters: tuple[Parameter, ...] = (
            (Parameter("num_chunks", tuple(range(1, self.max_chunks + 1))),)
            + tuple(Parameter(f"layer{i}.shift", tuple(shifts)) for i in range(len(self.layers)))
            + tuple(Parameter(f"{kind}.own_chunk", (False, True)) for kind in self.own_kinds)
            + tuple(Parameter(f"{slot}.{knob}", menus[knob]) for slot in slots
                    for knob in CHUNK_PARAMETERS)
        )  # fmt: skip
        self._first_knob = 1 + len(self.layers) + len(self.own_kinds)
        self._balanced: dict[tuple[int, tuple[str, ...]], list[int]] = {}

    def size(self) -> int:
        """Number of points (option combinations) in the space."""
        return math.prod(len(p.options) for p in self.parameters)

    def log10_size(self) -> float:
        """log10 of the number of points (A3C-S's space: over 1e27)."""
        return sum(math.log10(len(p.options)) for p in self.parameters)

    def sample_choices(self, rng: np.random.Generator | int | None = None) -> tuple[int, ...]:
        """A uniformly random point (option indices)."""
        rng = np.random.default_rng(rng)
        return tuple(int(rng.integers(len(p.options))) for p in self.parameters)

    def sample(self, rng: np.random.Generator | int | None = None) -> Accelerator:
        """A uniformly random design of the space."""
        return self.build(self.sample_choices(rng))

    def points(self, limit: int = 1_000_000) -> Iterator[tuple[int, ...]]:
        """Every point, for spaces of at most `limit` points (exhaustive search)."""
        if self.size() > limit:
            raise ValueError(
                f"the space holds {self.size():.3g} points, more than limit={limit:,}; "
                "shrink its menus to enumerate it"
            )
        return itertools.product(*(range(len(p.options)) for p in self.parameters))

    def owned(self, choices: Sequence[int]) -> tuple[str, ...]:
        """The layer kinds that run on a chunk of their own at this point."""
        first = 1 + len(self.layers)
        return tuple(
            kind
            for j, kind in enumerate(self.own_kinds)
            if self.parameters[first + j].options[choices[first + j]]
        )

    def allocation(self, choices: Sequence[int]) -> list[int]:
        """Chunk slot of every layer at this point (own-chunk kinds: slots after the shared)."""
        m = self.parameters[0].options[choices[0]]
        owned = self.owned(choices)
        shared = [i for i, layer in enumerate(self.layers) if layer.kind not in owned]
        key = (m, owned)
        if key not in self._balanced:
            self._balanced[key] = balanced_allocation([self.layers[i] for i in shared], m)
        allocation = [
            self.max_chunks + self.own_kinds.index(layer.kind) if layer.kind in owned else 0
            for layer in self.layers
        ]
        for i, b in zip(shared, self._balanced[key], strict=True):
            shift = self.parameters[1 + i].options[choices[1 + i]]
            allocation[i] = min(m - 1, max(0, b + shift))
        return allocation

    def active(self, choices: Sequence[int]) -> list[bool]:
        """Which parameters shape the design at this point (knobs of unused slots do not)."""
        used = set(self.allocation(choices))
        owned = self.owned(choices)
        multi = self.parameters[0].options[choices[0]] > 1
        flags = [True] + [multi and layer.kind not in owned for layer in self.layers]
        flags += [True] * len(self.own_kinds)
        for s in range(self.max_chunks + len(self.own_kinds)):
            flags += [s in used] * len(CHUNK_PARAMETERS)
        return flags

    def build(self, choices: Sequence[int]) -> Accelerator:
        """The design at a point: one chunk per used slot, tiles clamped to its layers."""
        if len(choices) != len(self.parameters):
            raise ValueError(
                f"a point has {len(self.parameters)} option indices, got {len(choices)}"
            )
        allocation = self.allocation(choices)
        used = sorted(set(allocation))
        blocks = self.board.bram36 // (PING_PONG * len(used))
        knobs_of = {slot: self._knobs(choices, slot) for slot in used}
        weights = sum(knobs["pe_share"] for knobs in knobs_of.values())
        chunks = []
        for slot, knobs in knobs_of.items():
            split = knobs.pop("buffer_split")
            pes = math.floor(knobs.pop("pe_share") / weights * self.board.max_pes + 1e-9)
            knobs["pe_cols"] = max(1, pes // knobs["pe_rows"])
            members = tuple(i for i, s in enumerate(allocation) if s == slot)
            chunk = Chunk(layers=members, **knobs, **self._buffers(split, blocks))
            chunks.append(_clamp_tiles(chunk, chunk_dims(self.layers, chunk)))
        return Accelerator(chunks=tuple(chunks), name="design")

    def _knobs(self, choices: Sequence[int], slot: int) -> dict:
        """The chunk knobs of slot `slot` at this point, by name."""
        first = self._first_knob + slot * len(CHUNK_PARAMETERS)
        return {
            name: self.parameters[first + k].options[choices[first + k]]
            for k, name in enumerate(CHUNK_PARAMETERS)
        }

    def _buffers(self, split: tuple[int, int, int], blocks: int) -> dict[str, int]:
        """Buffer bytes of a split of `blocks` BRAM36 blocks (whole blocks per buffer)."""
        shares = [blocks * part // sum(split) for part in split]
        return {
            name: share * self.board.bram36_bytes
            for name, share in zip(BUFFERS, shares, strict=True)
        }


def balanced_allocation(layers: Sequence[LayerSpec], chunks: int) -> list[int]:
    """Chunk of each layer when the network is cut into `chunks` runs of about equal MACs:
    the chunk holding the middle of the layer's MACs."""
    total = sum(layer.macs for layer in layers) or 1
    allocation, before = [], 0
    for layer in layers:
        allocation.append(min(chunks - 1, int(chunks * (before + layer.macs / 2) / total)))
        before += layer.macs
    return allocation


def _check_menus(layers: Sequence[LayerSpec], max_chunks: int, **menus: Sequence) -> None:
    """Raise ValueError naming the first DesignSpace argument that cannot be searched."""
    if not layers:
        raise ValueError("DesignSpace needs at least one layer")
    if isinstance(max_chunks, bool) or not isinstance(max_chunks, int) or max_chunks < 1:
        raise ValueError(f"max_chunks must be a positive integer, got {max_chunks!r}")
    for name, low in (("pe_dims", 1), ("channel_tiles", 1), ("spatial_tiles", 1), ("shifts", None)):
        menu = menus[name]
        if not menu or any(isinstance(v, bool) or not isinstance(v, int) for v in menu):
            raise ValueError(f"{name} must be a non-empty list of integers, got {menu!r}")
        if low is not None and min(menu) < low:
            raise ValueError(f"{name} must hold integers >= {low}, got {list(menu)}")
    shares = menus["pe_shares"]
    if not shares or any(not 0 < share <= 1 for share in shares):
        raise ValueError(f"pe_shares must be fractions in (0, 1], got {list(shares)}")
    splits = menus["buffer_splits"]
    if not splits or any(len(s) != 3 or min(s) < 0 or sum(s) <= 0 for s in splits):
        raise ValueError(f"buffer_splits must hold (input, weight, output) shares, got {splits}")
    if not menus["dataflows"]:
        raise ValueError("dataflows must name at least one dataflow")
    for dataflow in menus["dataflows"]:
        check_name(dataflow, DATAFLOWS, "dataflow")


def _clamp_tiles(chunk: Chunk, dims: tuple[int, int, int, int] | None) -> Chunk:
    if dims is None:
        return chunk
    values = asdict(chunk)
    for tile, largest in zip(TILES, dims, strict=True):
        values[tile] = min(values[tile], largest)
    values["layers"] = chunk.layers
    return Chunk(**values)
