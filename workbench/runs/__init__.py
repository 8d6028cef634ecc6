"""Run folders, the bottom layer: folders (config, logs, checkpoints, load_runs), provenance,
TensorBoard mirroring and the registry of run kinds. Imports nothing from the layers above."""
