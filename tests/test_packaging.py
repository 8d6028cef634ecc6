"""The project's own files install everything: pyproject.toml and environment.yml agree."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name where they differ
NOT_PACKAGES = {"python", "pip"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for group in data["optional-dependencies"].values() for r in group]
    reqs = [Requirement(r) for r in data["dependencies"] + extras]
    return {_norm(CONDA_NAMES.get(r.name, r.name)): str(r.specifier) for r in reqs}


def environment_requirements() -> dict[str, str]:
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    specs: list[str] = []
    for dep in deps:
        if isinstance(dep, dict):
            specs += [s for s in dep["pip"] if not s.startswith("-e")]
        else:
            specs.append(dep)
    reqs = [Requirement(re.sub(r"^([\w.-]+)=(?!=)", r"\1==", s)) for s in specs]
    return {_norm(r.name): str(r.specifier) for r in reqs if r.name not in NOT_PACKAGES}


def test_environment_yml_agrees_with_pyproject() -> None:
    py, conda = pyproject_requirements(), environment_requirements()
    assert sorted(set(py) - set(conda)) == [], "in pyproject.toml but not environment.yml"
    assert sorted(set(conda) - set(py)) == [], "in environment.yml but not pyproject.toml"
    assert {k: conda[k] for k in py} == py, "version specifiers differ"


def test_environment_yml_installs_the_project() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert "- -e ." in text and "conda-forge" in text


def test_readme_leads_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(make \w+)\s*$", readme, re.M)
    assert commands[:2] == ["make reproduce", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
