"""Interleaved timing: the sides take turns within every repeat (ABCABC...), so noise hits all."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping


def interleaved_seconds(
    sides: Mapping[Hashable, Callable[[], object]],
    repeats: int,
    calls: Callable[[Hashable], int] = lambda side: 1,
) -> dict[Hashable, list[float]]:
    """Seconds per call of every side, one sample per repeat; `calls(side)` calls per sample."""
    samples: dict[Hashable, list[float]] = {side: [] for side in sides}
    for _ in range(repeats):
        for side, fn in sides.items():
            n = calls(side)
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[side].append((time.perf_counter() - start) / n)
    return samples
