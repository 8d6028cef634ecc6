"""Run every notebook headlessly with papermill into reports/<preset>/ and write its index.md."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill as pm

from workbench.experiments.reports import MANIFEST_DIR, chromium_available, read_manifest
from workbench.names import check_name
from workbench.presets import get_preset
from workbench.progress import ENV_VAR as PROGRESS_ENV_VAR
from workbench.runs.provenance import environment_info

KERNEL = "python3"
REQUIRED_PARAMETERS = ("preset", "report_dir")


class NotebookFailed(RuntimeError):
    """A notebook raised while executing; the message names the notebook and the cell."""


@dataclass
class NotebookRun:
    """Outcome of one notebook execution."""

    name: str
    output: Path
    seconds: float
    error: str | None = None


@dataclass
class Reproduction:
    """Outcome of a whole reproduction: one NotebookRun per notebook, and the index path."""

    preset: str
    report_dir: Path
    runs: list[NotebookRun] = field(default_factory=list)
    index: Path | None = None

    @property
    def failed(self) -> list[NotebookRun]:
        return [r for r in self.runs if r.error]


def list_notebooks(notebooks_dir: str | Path = "notebooks") -> list[Path]:
    """The notebooks to reproduce, in file-name order (their numeric prefixes)."""
    return sorted(p for p in Path(notebooks_dir).glob("*.ipynb") if not p.name.startswith("."))


def validate_parameters(notebook: Path, parameters: dict) -> None:
    """Fail before running when the notebook lacks a parameters cell or a parameter we pass."""
    from workbench.experiments.notebook_jobs import declared_parameters

    declared = declared_parameters(notebook)
    if not declared:
        raise ValueError(f"{notebook.name}: no cell tagged 'parameters'; tag the cell of literals.")
    unknown = sorted(set(parameters) - set(declared))
    missing = sorted(set(REQUIRED_PARAMETERS) - set(declared))
    if unknown or missing:
        raise ValueError(
            f"{notebook.name}: parameters cell declares {sorted(declared)}; "
            f"unknown passed: {unknown}; required but not declared: {missing}."
        )


def notebook_parameters(notebook: Path, base: dict, extra: dict, selected: list[Path]) -> dict:
    """What `notebook` is given: `base` (which every notebook must declare) and those of the
    `-p` parameters it declares. A `-p` parameter that no selected notebook declares is refused,
    before anything runs, so a typo never runs the notebooks on their defaults."""
    from workbench.experiments.notebook_jobs import declared_parameters

    validate_parameters(notebook, base)
    known = {name for nb in selected for name in declared_parameters(nb)}
    unknown = sorted(set(extra) - known)
    if unknown:
        raise ValueError(
            f"unknown passed: {unknown}; no selected notebook declares it (their parameters: "
            f"{sorted(known)})"
        )
    declared = set(declared_parameters(notebook))
    return {**base, **{name: value for name, value in extra.items() if name in declared}}


def run_notebook(notebook: Path, output: Path, parameters: dict, cwd: Path) -> NotebookRun:
    """Execute one notebook in a real python3 kernel; record the failing cell instead of raising."""
    start = time.perf_counter()
    error = None
    os.environ[PROGRESS_ENV_VAR] = "0"  # the kernel inherits it: no tqdm output blocks per refresh
    try:
        pm.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL,
            cwd=str(cwd),
            progress_bar=False,
            log_output=False,
        )
    except pm.PapermillExecutionError as exc:
        first_line = next((ln for ln in exc.source.splitlines() if ln.strip()), "")
        error = (
            f"{notebook.name}: cell {source_cell_number(output, exc.cell_index)} "
            f"(`{first_line.strip()[:60]}`) raised {exc.ename}: {exc.evalue}"
        )
    return NotebookRun(notebook.stem, output, time.perf_counter() - start, error)


def source_cell_number(executed: Path, cell_index: int) -> int:
    """1-based number, in the source notebook, of cell `cell_index` of the executed notebook.

    papermill inserts an `injected-parameters` cell; cells after it shift by one.
    """
    cells = nbformat.read(executed, as_version=4).cells
    injected = next(
        (i for i, c in enumerate(cells) if "injected-parameters" in c.metadata.get("tags", [])),
        None,
    )
    shift = 1 if injected is not None and cell_index > injected else 0
    return cell_index - shift + 1


def reproduce(
    preset: str = "smoke",
    *,
    only: list[str] | None = None,
    notebooks_dir: str | Path = "notebooks",
    reports_root: str | Path = "reports",
    extra_parameters: dict | None = None,
    jobs: int = 1,
) -> Reproduction:
    """Execute the notebooks with `preset` into reports/<preset>/ and write its index.md.

    With jobs > 1, notebooks run in parallel kernels; runs that two notebooks share are trained
    once (the run folder is locked while it trains, and the second finds it finished).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    p = get_preset(preset)
    notebooks = list_notebooks(notebooks_dir)
    if not notebooks:
        raise FileNotFoundError(f"no notebooks found in {Path(notebooks_dir).resolve()}")
    if only:
        names = {nb.stem: nb for nb in notebooks}
        notebooks = [names[check_name(n, names, "notebook")] for n in only]
    report_dir = Path(reports_root, p.name).resolve()
    (report_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    result = Reproduction(p.name, report_dir)
    base = {"preset": p.name, "report_dir": str(report_dir)}
    params = {nb: notebook_parameters(nb, base, extra_parameters or {}, notebooks)
              for nb in notebooks}  # fmt: skip

    def execute(i: int, nb: Path) -> NotebookRun:
        print(f"[{i}/{len(notebooks)}] {nb.name} (preset={p.name}) ...", flush=True)
        out = report_dir / "notebooks" / nb.name
        run = run_notebook(nb, out, params[nb], cwd=nb.parent.resolve())
        status = "FAILED: " + run.error if run.error else "ok"
        print(f"    {nb.name}: {status} ({run.seconds:.1f} s)", flush=True)
        record_notebook_run(report_dir, run)
        return run

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        result.runs = list(pool.map(execute, range(1, len(notebooks) + 1), notebooks))
    result.index = write_index(result)
    return result


def record_notebook_run(report_dir: Path, run: NotebookRun) -> None:
    """Keep a notebook's outcome in the manifest, so a later `--only` run still lists it."""
    env = environment_info()
    entry = {
        "kind": "notebook", "name": run.name, "notebook": run.name, "output": run.output.name,
        "seconds": round(run.seconds, 1), "error": run.error, "commit": env["git"]["commit"],
        "time_utc": env["time_utc"],
    }  # fmt: skip
    path = report_dir / MANIFEST_DIR / f"notebook__{run.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entry, indent=2))


def _notebook_lines(result: Reproduction, entries: list[dict]) -> list[str]:
    """One line per notebook ever run into this report folder; earlier runs say when."""
    now = {run.name for run in result.runs}
    lines = []
    for e in sorted((e for e in entries if e["kind"] == "notebook"), key=lambda e: e["name"]):
        status = f"FAILED — {e['error']}" if e["error"] else "ok"
        when = ""
        if e["name"] not in now:
            when = f"; run earlier, at commit `{(e['commit'] or 'unknown')[:7]}` {e['time_utc']}"
        lines.append(
            f"- [{e['name']}](notebooks/{e['output']}): {status} ({e['seconds']:.1f} s{when})"
        )
    return lines


def write_index(result: Reproduction) -> Path:
    """index.md: every figure and table with its caption, plus budget, commit, date and failures."""
    env = environment_info()
    p = get_preset(result.preset)
    entries = read_manifest(result.report_dir)
    commit = env["git"]["commit"] or "unknown"
    png_status = "rendered with Chromium" if chromium_available() else "SKIPPED (no Chromium)"
    lines = [
        f"# Reports — preset `{p.name}`",
        "",
        f"- Budget: {p.caption()} ({p.description}).",
        f"- Commit: `{commit}`{' (with uncommitted changes)' if env['git']['dirty'] else ''}",
        f"- Date (UTC): {env['time_utc']}; host: {env['host']}; Python {env['python']}; "
        f"{env['cpu_count']} CPUs" + (f", {env['cpu']}" if "cpu" in env else ""),
        f"- PNG figures: {png_status}",
        "",
        "## Notebooks",
        "",
    ]
    lines += _notebook_lines(result, entries)
    for kind in ("figure", "table"):
        lines += ["", f"## {kind.capitalize()}s", ""]
        for e in (e for e in entries if e["kind"] == kind):
            links = " · ".join(f"[{Path(f).suffix[1:]}]({f})" for f in e["files"])
            note = f" — {e['note']}" if e["note"] else ""
            lines.append(f"- **{e['name']}** ({e['notebook']}): {e['caption']} — {links}{note}")
    index = result.report_dir / "index.md"
    index.write_text("\n".join(lines) + "\n")
    (result.report_dir / "environment.json").write_text(json.dumps(env, indent=2))
    return index
