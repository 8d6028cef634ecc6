"""One-shot architecture search with PPO (Mazyavkina et al.): spaces, SPOS, ENAS, baselines.

Kept import-light (the CLI imports `workbench.oneshot.cli` at start-up); import the submodules.
"""
