"""agent-nas-workbench: a notebook-first workbench for searching efficient deep-RL agents."""

from workbench.openmp import shorten_omp_spin

__version__ = "0.1.0"

shorten_omp_spin()  # before anything imports torch: libgomp reads its settings when loaded
