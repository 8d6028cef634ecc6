"""Presets, provenance, report writing and the papermill reproduction runner."""
