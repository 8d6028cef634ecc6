"""Debian's chromium, driven by Playwright, runs the inspector notebook in a real JupyterLab.

JupyterLab is started on 127.0.0.1 with a token on a temporary copy of the notebook; the test runs
all cells from the Run menu, waits for every code cell to finish, moves the step slider of the
ArchitectureInspector to its first step with the keyboard and checks that the heatmap and the
MACs figure of the widget change. Screenshots go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "00_architecture_inspector.ipynb"
ARTIFACTS = ROOT / "tests" / "artifacts"
STEPS = sorted(
    pd.read_csv(ROOT / "workbench" / "examples" / "search_breakout_a2d" / "alpha.csv")["step"]
    .unique()
    .tolist()
)
WIDGET = ".workbench-architecture-inspector"
CHROMIUM = next(
    (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
    None,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no chromium found: install Debian's `chromium` (`make system-deps`, or "
        "`apt-get install chromium`) for the browser tests",
    ),
]

# JS: the data of each plotly plot inside the widget, by the figure's layout.meta.
PLOTS_JS = """(selector) => {
  const plain = (k, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v);
  const out = {};
  for (const el of document.querySelectorAll(selector + ' .js-plotly-plot')) {
    if (el.layout && el.layout.meta && el.data) {
      out[el.layout.meta] = JSON.stringify(el.data.map((t) => [t.x, t.y, t.z]), plain);
    }
  }
  return out;
}"""
# JS: the prompts of the code cells ('[3]:' done, '[*]:' running, '[ ]:' not run) and error texts.
CELLS_JS = """() => ({
  prompts: Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))
    .map((e) => e.textContent.trim()),
  errors: Array.from(document.querySelectorAll('.jp-OutputArea-output'))
    .map((e) => e.textContent)
    .filter((t) => t.includes('Traceback') || t.includes('Error:')),
})"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(
    predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.5
) -> object:
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _get(url: str, token: str) -> bytes | None:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read()
    except OSError:
        return None


@contextlib.contextmanager
def jupyterlab(root_dir: Path, state_dir: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on a free 127.0.0.1 port with a fresh token; yields (base url, token)."""
    port, token = _free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).with_name("jupyter")
    cmd = [
        str(jupyter) if jupyter.exists() else "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        f"--LabApp.workspaces_dir={state_dir / 'workspaces'}",
        f"--LabApp.user_settings_dir={state_dir / 'user-settings'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.terminals_enabled=False",
        "--allow-root",
    ]
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(state_dir / "runtime"),
        JUPYTER_CONFIG_DIR=str(state_dir / "config"),
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
    )
    # no "get notified about Jupyter news?" toast over the notebook
    settings = state_dir / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    log = (state_dir / "jupyterlab.log").open("w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(
            lambda: server.poll() is not None or _get(f"{base}/api/status", token),
            timeout=90,
            what="JupyterLab to start",
        )
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited: {(state_dir / 'jupyterlab.log').read_text()[-3000:]}")
        yield base, token
    finally:
        _stop(server, base, token)
        log.close()


def _stop(server: subprocess.Popen, base: str, token: str) -> None:
    """Shut the server down through its API (kernels included), then terminate, then kill."""
    if server.poll() is None:
        request = urllib.request.Request(
            f"{base}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
        )
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=10).close()
    for stop in (None, server.terminate, server.kill):
        if stop is not None:
            stop()
        try:
            server.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def _kernels(base: str, token: str) -> list[dict]:
    body = _get(f"{base}/api/kernels", token)
    return json.loads(body) if body else []


def test_inspector_notebook_runs_in_jupyterlab_and_follows_the_slider(tmp_path: Path) -> None:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'"
    )
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)
    ARTIFACTS.mkdir(exist_ok=True)
    start = time.monotonic()
    with jupyterlab(notebooks, tmp_path) as (base, token), sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1300})
            page.set_default_timeout(120_000)
            page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell")
            _wait_for(
                lambda: any(k["execution_state"] == "idle" for k in _kernels(base, token)),
                timeout=120,
                what="the notebook's kernel to start and be idle",
            )

            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.locator("li[data-command='runmenu:run-all']").click()

            def finished() -> bool:
                cells = page.evaluate(CELLS_JS)
                if cells["errors"]:
                    pytest.fail("a cell raised:\n" + "\n".join(cells["errors"])[-3000:])
                prompts = cells["prompts"]
                return bool(prompts) and all(p[1:-2].strip().isdigit() for p in prompts)

            print(f"browser test: kernel idle after {time.monotonic() - start:.0f} s")
            _wait_for(finished, timeout=240, what="every code cell to run", interval=1)
            print(f"browser test: all cells ran after {time.monotonic() - start:.0f} s")
            before = _wait_for(
                lambda: _complete(page.evaluate(PLOTS_JS, WIDGET)),
                timeout=60,
                what="the inspector's three plots",
            )
            widget = page.locator(WIDGET)
            readout = widget.locator(".widget-slider .widget-readout")
            assert readout.inner_text().strip() == str(STEPS[-1])
            widget.screenshot(path=str(ARTIFACTS / "architecture_inspector_last_step.png"))

            handle = widget.locator(".widget-slider .noUi-handle")
            handle.focus()
            handle.press("Home")  # noUiSlider: first option
            if readout.inner_text().strip() != str(STEPS[0]):  # no keyboard: drag it to the left
                print("browser test: moving the slider with the mouse")
                box = handle.bounding_box()
                track = widget.locator(".widget-slider .noUi-base").bounding_box()
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                page.mouse.down()
                page.mouse.move(track["x"] - 20, box["y"] + box["height"] / 2, steps=10)
                page.mouse.up()
            _wait_for(
                lambda: readout.inner_text().strip() == str(STEPS[0]),
                timeout=30,
                what=f"the step slider to read {STEPS[0]}",
            )

            def changed() -> dict | None:
                plots = _complete(page.evaluate(PLOTS_JS, WIDGET))
                if not plots:
                    return None
                moved = all(plots[m] != before[m] for m in ("alpha-heatmap", "block-costs"))
                return plots if moved else None

            after = _wait_for(changed, timeout=90, what="the heatmap and MACs plots to change")
            assert after["alpha-heatmap"] != before["alpha-heatmap"]
            assert after["block-costs"] != before["block-costs"]
            summary = widget.locator(".widget-html").first.inner_text()
            assert f"step {STEPS[0]:,}" in summary and "error" not in summary.lower()
            widget.screenshot(path=str(ARTIFACTS / "architecture_inspector_first_step.png"))
            page.screenshot(path=str(ARTIFACTS / "architecture_inspector_page.png"), full_page=True)
        finally:
            browser.close()
    report = tmp_path / "reports" / "smoke"
    assert (report / "figures" / "inspector_alpha_heatmap.html").exists()
    print(f"browser test: {time.monotonic() - start:.0f} s")


def _complete(plots: dict) -> dict | None:
    """The plots if the widget shows all three (heatmap, diagram, MACs), else None."""
    return plots if {"alpha-heatmap", "arch-diagram", "block-costs"} <= set(plots) else None
