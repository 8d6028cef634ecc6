"""PNG export of report figures: kaleido's browser per figure vs one shared browser per process.

Every notebook saves its figures through `ReportWriter.save_figure`, which renders a PNG beside
the HTML. kaleido 1.x starts a Chromium for each `write_image` unless a sync server is running;
`workbench.experiments.reports.write_png` starts one per process. Each side runs in a fresh
interpreter and renders the same `--figures` figures (a 3-trace line plot, the reports' size);
its time includes the browser's start, as a notebook's does. The sides alternate over the
repeats; medians and the ratio are printed and written to reports/benchmarks/png_export.{json,md}.
Usage: python benchmarks/png_export.py [--figures 6] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RENDER = """
import sys, time
from pathlib import Path
import plotly.graph_objects as go
from workbench.experiments.reports import write_png
side, n, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
figs = [go.Figure([go.Scatter(x=list(range(50)), y=[(i * k) % 17 for i in range(50)])
                   for k in range(1, 4)]) for _ in range(n)]
t0 = time.perf_counter()
for i, fig in enumerate(figs):
    if side == "per-figure":
        fig.write_image(out / f"{i}.png", width=1100, height=550, scale=1)
    else:
        write_png(fig, out / f"{i}.png")
print(time.perf_counter() - t0)
"""


def render_seconds(side: str, figures: int) -> float:
    """Seconds one fresh interpreter takes to render `figures` PNGs on `side`."""
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, "-c", RENDER, side, str(figures), out],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        assert len(list(Path(out).glob("*.png"))) == figures
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sides = ("per-figure", "shared")
    times: dict[str, list[float]] = {s: [] for s in sides}
    for r in range(args.repeats):
        for side in sides if r % 2 == 0 else sides[::-1]:
            times[side].append(render_seconds(side, args.figures))
    med = {s: statistics.median(times[s]) for s in sides}
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "figures": args.figures, "repeats": args.repeats, "seconds": times,
        "median_s": med, "median_s_per_figure": {s: med[s] / args.figures for s in sides},
        "speedup_shared": med["per-figure"] / med["shared"],
    }  # fmt: skip
    out = ROOT / "reports" / "benchmarks"
    (out / "png_export.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# PNG export: {args.figures} figures per process, median of {args.repeats}",
        "",
        f"Machine: {result['machine']}.",
        "",
        "| side | seconds | seconds per figure |",
        "|---|---:|---:|",
        *(f"| {s} | {med[s]:.2f} | {med[s] / args.figures:.2f} |" for s in sides),
        "",
        f"Shared browser: {result['speedup_shared']:.1f}x faster. "
        "Rerun: `python benchmarks/png_export.py`.",
    ]
    (out / "png_export.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
