"""glibc's malloc tuned for training: large tensors reuse freed heap memory, not fresh mappings.

Every update allocates and frees the same large activations and gradients. With glibc's
defaults each comes from a new mmap whose pages the kernel zeroes on first touch (A2C with the
Nature CNN: about 4,500 page faults per update here); a higher mmap threshold and trim threshold
keep that memory in the process for the next update. `WORKBENCH_MALLOC=system` leaves the
defaults (what benchmarks/malloc_lever.py compares against).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

MALLOC_VARIABLE = "WORKBENCH_MALLOC"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's maximum on 64-bit
TRIM_THRESHOLD = 1 << 30


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where nothing changed."""
    mode = os.environ.get(MALLOC_VARIABLE, "tuned")
    if mode not in ("tuned", "system"):
        raise ValueError(f"{MALLOC_VARIABLE} must be 'tuned' or 'system', got {mode!r}")
    if mode == "system":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl): its allocator as it is
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
