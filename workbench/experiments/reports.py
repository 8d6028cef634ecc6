"""Writing figures (HTML + PNG) and tables (CSV + Markdown) into a report folder + manifest."""

from __future__ import annotations

import atexit
import functools
import json
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

MANIFEST_DIR = ".manifest"


def chromium_available() -> bool:
    """Whether kaleido can find a Chrome/Chromium to render PNGs."""
    return any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome", "chrome"))


@functools.cache
def start_png_server() -> None:
    """Keep one Chromium for all PNGs of this process: kaleido otherwise starts one per figure
    (6.2 s a PNG against 1.5 s over 6 figures, the start included: png_export.md)."""
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)


def write_png(fig: go.Figure, path: Path) -> None:
    """Render `fig` to a 1100x550 PNG through the process's shared Chromium."""
    start_png_server()
    with warnings.catch_warnings():  # plotly passes browser options the shared server ignores
        warnings.filterwarnings("ignore", "The kopts argument is ignored", UserWarning)
        fig.write_image(path, width=1100, height=550, scale=1)


def _slug(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"artefact name {name!r} must use only letters, digits, '_', '.', '-'")
    return name


@dataclass
class ReportWriter:
    """Saves a notebook's figures and tables under `report_dir` and records each in the manifest."""

    report_dir: str | Path
    notebook: str = "interactive"
    png: bool = True

    def __post_init__(self) -> None:
        self.report_dir = Path(self.report_dir)
        for sub in ("figures", "tables", MANIFEST_DIR):
            (self.report_dir / sub).mkdir(parents=True, exist_ok=True)

    def save_figure(self, fig: go.Figure, name: str, caption: str) -> dict:
        """Write `figures/<name>.html` (offline, shared plotly.min.js) and a PNG if possible."""
        stem = self.report_dir / "figures" / _slug(name)
        fig.write_html(stem.with_suffix(".html"), include_plotlyjs="directory")
        files = [f"figures/{name}.html"]
        png_note = None
        if not self.png:
            png_note = "PNG export switched off"
        elif not chromium_available():
            png_note = "PNG skipped: no Chromium found (install Debian's `chromium`)"
        else:
            try:
                write_png(fig, stem.with_suffix(".png"))
                files.append(f"figures/{name}.png")
            except Exception as exc:  # kaleido/Chromium failures must not lose the HTML figure
                png_note = f"PNG skipped: {type(exc).__name__}: {exc}"
        return self._record("figure", name, caption, files, png_note)

    def save_table(self, table: pd.DataFrame, name: str, caption: str) -> dict:
        """Write `tables/<name>.csv` and `tables/<name>.md` (caption above the Markdown table)."""
        stem = self.report_dir / "tables" / _slug(name)
        table.to_csv(stem.with_suffix(".csv"), index=False)
        stem.with_suffix(".md").write_text(f"{caption}\n\n{markdown_table(table)}\n")
        return self._record(
            "table", name, caption, [f"tables/{name}.csv", f"tables/{name}.md"], None
        )

    def _record(
        self, kind: str, name: str, caption: str, files: list[str], note: str | None
    ) -> dict:
        entry = {
            "kind": kind,
            "name": name,
            "notebook": self.notebook,
            "caption": caption,
            "files": files,
            "note": note,
        }
        path = self.report_dir / MANIFEST_DIR / f"{kind}__{name}.json"
        path.write_text(json.dumps(entry, indent=2))
        return entry


def markdown_table(table: pd.DataFrame) -> str:
    """A table as Markdown that reads well, never in scientific notation for large values.

    Whole numbers get thousands separators (MAC counts stored as floats printed as 2.56678e+07);
    other floats 4 significant digits below 1,000 and one decimal from there on (Atari scores).
    """
    shown = table.copy()
    formats = []
    for column in shown.columns:
        values = shown[column].dropna()
        is_float = pd.api.types.is_float_dtype(shown[column])
        if is_float and len(values) and (values == values.round()).all():
            if values.abs().max() < 2**53:
                shown[column] = shown[column].astype("Int64")
        large = is_float and len(values) and values.abs().max() >= 1000
        formats.append(",.1f" if large else ".4g")
    return shown.to_markdown(index=False, intfmt=",", floatfmt=formats)


def read_manifest(report_dir: str | Path) -> list[dict]:
    """All artefact entries recorded under `report_dir`, sorted by notebook, kind and name."""
    entries = [json.loads(p.read_text()) for p in Path(report_dir, MANIFEST_DIR).glob("*.json")]
    return sorted(entries, key=lambda e: (e["notebook"], e["kind"], e["name"]))
