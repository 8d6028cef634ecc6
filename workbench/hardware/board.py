"""FPGA boards: the resources and memory system an accelerator design must fit (ZC706 as A3C-S)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Board:
    """Resource budget and memory system of an FPGA board (units in the field names)."""

    name: str
    dsp: int
    """DSP slices the design may use (A3C-S caps ZC706 designs at 900)."""
    bram36: int
    """36 Kb block RAMs."""
    clock_mhz: float
    """Accelerator clock."""
    dram_bandwidth_gbps: float
    """Off-chip DRAM bandwidth in GB/s (1e9 bytes per second)."""
    bytes_per_value: int = 2
    """Bytes per activation / weight: 16-bit fixed point, as FPGA DNN accelerators of the time
    (DNNBuilder, Shen et al. ISCA 2017, FA3C) use."""
    dsp_per_mac: int = 1
    """DSP slices per MAC unit: one DSP48E1 does a 16x16-bit multiply-accumulate per cycle."""
    bram36_bytes: int = 4608
    """Bytes in one BRAM36 (36 Kb, counting the parity bits as data)."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("Board.name must be a non-empty string")
        for name in ("dsp", "bram36", "bytes_per_value", "dsp_per_mac", "bram36_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Board.{name} must be a positive integer, got {value!r}")
        for name in ("clock_mhz", "dram_bandwidth_gbps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"Board.{name} must be a positive number, got {value!r}")

    @property
    def clock_hz(self) -> float:
        """Clock in Hz."""
        return self.clock_mhz * 1e6

    @property
    def bandwidth_bytes_per_s(self) -> float:
        """DRAM bandwidth in bytes per second."""
        return self.dram_bandwidth_gbps * 1e9

    @property
    def max_pes(self) -> int:
        """MAC units the DSP budget affords."""
        return self.dsp // self.dsp_per_mac

    @property
    def bram_bytes(self) -> int:
        """On-chip buffer capacity of the BRAM budget in bytes."""
        return self.bram36 * self.bram36_bytes


ZC706 = Board(
    name="ZC706",
    dsp=900,
    bram36=545,
    clock_mhz=200.0,
    # A3C-S does not give a bandwidth. 12.8 GB/s is the peak of the ZC706's PL-side DDR3 SODIMM:
    # a 64-bit bus at 1600 MT/s (Xilinx UG954, ZC706 Evaluation Board User Guide; 8 B x 1.6e9/s).
    dram_bandwidth_gbps=12.8,
)
"""Xilinx ZC706 (Zynq-7045): 900 DSPs (A3C-S's limit; the chip has 900), 545 BRAM36, 200 MHz."""
