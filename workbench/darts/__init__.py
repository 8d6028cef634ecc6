"""RL-DARTS (DARTS cells for RL): op spaces, cells, supernet and discrete encoders, Alg. 4
discretisation, the search in the PPO loop, random cells, and the study of notebook 07.

Kept import-light (the CLI imports `workbench.darts.cli` at start-up); import the submodules.
"""
