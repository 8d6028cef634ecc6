"""libgomp's idle-thread spin shortened, so torch's idle threads leave the cores to envpool.

After every parallel op torch's OpenMP threads spin-wait before they sleep: 300,000 iterations by
libgomp's default, milliseconds on a 2.4 GHz core. In a training loop the next thing is often an
env step, whose envpool workers then share the cores with spinning threads: envpool stepped 0.78x
as fast right after the network work as after a sleep, 1.01x with 30,000 spins
(benchmarks/env_step_in_loop.py). 30,000 spins keep the short gaps between a network's ops
spinning and let the threads sleep during env steps: the vanilla A2C loop ran 1.10x faster on
2 cores and the network-only and ResNet-20 rates held (benchmarks/omp_wait_lever.py). libgomp
reads its settings once, when torch loads it, so this runs on `import workbench` and only while
torch is not imported yet.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping

SPIN_VARIABLE = "WORKBENCH_OMP_SPIN"
"""`short` (the default): set GOMP_SPINCOUNT to SHORT_SPINCOUNT; `libgomp`: leave libgomp's own."""
SHORT_SPINCOUNT = 30_000
USER_SETTINGS = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
"""A wait setting the user made themselves is kept as it is."""


def shorten_omp_spin(
    environ: MutableMapping[str, str] | None = None, torch_loaded: bool | None = None
) -> bool:
    """Set GOMP_SPINCOUNT for libgomp to read when torch loads; False where left alone (opted
    out, a wait setting already made, or torch, and so libgomp, already loaded)."""
    environ = os.environ if environ is None else environ
    mode = environ.get(SPIN_VARIABLE, "short")
    if mode not in ("short", "libgomp"):
        raise ValueError(f"{SPIN_VARIABLE} must be 'short' or 'libgomp', got {mode!r}")
    if torch_loaded is None:
        torch_loaded = "torch" in sys.modules
    if mode == "libgomp" or torch_loaded or any(k in environ for k in USER_SETTINGS):
        return False
    environ["GOMP_SPINCOUNT"] = str(SHORT_SPINCOUNT)
    return True


def libgomp_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of `environ` for a child process that runs libgomp's own wait settings: no spin
    count or wait policy (the workbench's, once set, is inherited by every child) and the
    workbench's opted out. Benchmarks start their baselines and variants from it."""
    environ = os.environ if environ is None else environ
    clean = {k: v for k, v in environ.items() if k not in USER_SETTINGS}
    return {**clean, SPIN_VARIABLE: "libgomp"}
