"""Figures (plotly) and tables (pandas) built from tidy DataFrames; no file I/O here."""
