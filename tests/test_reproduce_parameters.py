"""`workbench reproduce -p NAME=VALUE`: each notebook gets the parameters it declares."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from workbench.experiments.reproduce import notebook_parameters


def _notebook(path: Path, parameters: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, path)
    return path


def test_a_parameter_goes_only_to_the_notebooks_that_declare_it(tmp_path: Path) -> None:
    base = {"preset": "laptop", "report_dir": "r"}
    plain = _notebook(tmp_path / "00_a.ipynb", 'preset = "smoke"\nreport_dir = "."')
    drawing = _notebook(
        tmp_path / "01_b.ipynb", 'preset = "smoke"\nreport_dir = "."\ntrain_missing = True'
    )
    selected = [plain, drawing]
    extra = {"train_missing": False}
    assert notebook_parameters(plain, base, extra, selected) == base
    assert notebook_parameters(drawing, base, extra, selected) == {**base, **extra}
    with pytest.raises(ValueError, match=r"unknown passed: \['train_missng'\]"):
        notebook_parameters(plain, base, {"train_missng": False}, selected)
    with pytest.raises(ValueError, match="unknown passed"):
        notebook_parameters(plain, base, extra, [plain])  # no selected notebook declares it
