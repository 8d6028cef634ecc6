"""agent-nas-workbench: a notebook-first workbench for searching efficient deep-RL agents."""

__version__ = "0.1.0"
