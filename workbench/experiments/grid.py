"""Sweep grids: a YAML file of jobs x games x models x seeds x arms, validated and expanded.

A grid is one job block or a list of them under `jobs:` (the top-level keys are shared and each
block overrides them). Every key, axis value and override is checked, and every trial's config is
built, before anything runs; an error names the file, the job block and the offending key.

```yaml
job: train            # train | search
preset: smoke         # budget: train_steps, eval_interval, eval_episodes, checkpoint_interval
games: [Breakout]     # default: the preset's games
models: [vanilla, resnet14]
seeds: [0, 1]         # default: the preset's seeds
distill: [none]       # arms: A2CConfig.distill (search jobs: `strategies` x `distill`)
overrides: {num_envs: 8}          # any A2CConfig / SearchConfig field
resources: {cpus: 1, gpus: 0}     # what each trial asks for (threads per trial = cpus)
```

A notebook job runs a notebook once per point of its games x models x seeds (each reaches the
notebook as a one-element list; an axis left out keeps the notebook's default), with extra
papermill `parameters`, into its own folder runs/notebooks/<trial>/ (see notebook_jobs):

```yaml
job: notebook
notebook: 01_model_size_scaling
preset: laptop
games: [Breakout, Pong]
parameters: {num_actions: 18}
```

A tabular job trains notebook 06's tabular benchmark (every architecture of the one-shot
study's spaces, PPO from scratch, the `oneshot` study's budget) run by run, so that a sweep can
train them in parallel and the notebook then only reads them:

```yaml
job: tabular
preset: laptop
games: [Breakout]     # default: the study's games
spaces: [1]           # one-shot spaces 1 and 2 (default: the study's)
seeds: [0]            # the benchmark's seeds (default: 0)
resources: {cpus: 1, gpus: 0}
```
"""

from __future__ import annotations

import dataclasses
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from workbench.config import (
    DISTILL_ARMS,
    SEARCH_STRATEGIES,
    A2CConfig,
    SearchConfig,
    search_arm,
)
from workbench.experiments.notebook_jobs import NotebookJob, find_notebook
from workbench.names import check_name, closest_names
from workbench.presets import PRESETS, get_preset, preset_config
from workbench.runs.folder import run_name

if TYPE_CHECKING:
    from workbench.config import PPOConfig

JOBS = ("train", "search", "notebook", "tabular")
SPACES = ("a2d", "a3cs")
BLOCK_KEYS = (
    "job", "preset", "study", "games", "models", "spaces", "seeds", "distill", "strategies",
    "overrides", "resources", "tag", "teacher", "notebook", "parameters",
)  # fmt: skip
GRID_KEYS = (*BLOCK_KEYS, "jobs")
AXES = ("games", "models", "spaces", "seeds", "distill", "strategies")
JOB_AXES = {
    "train": ("games", "models", "seeds", "distill"),
    "search": ("games", "spaces", "seeds", "strategies", "distill"),
    "notebook": ("games", "models", "seeds"),
    "tabular": ("games", "spaces", "seeds"),
}
NOTEBOOK_KEYS = ("notebook", "parameters")
"""Keys of notebook jobs only; training keys (distill, overrides, ...) are refused there."""
TRAINING_KEYS = ("study", "distill", "strategies", "spaces", "overrides", "teacher")
AXIS_FIELDS = {"game": "games", "model": "models", "seed": "seeds", "distill": "distill",
               "strategy": "strategies", "space": "spaces", "tag": "tag",
               "teacher": "teacher"}  # fmt: skip
"""Config fields that a grid sets through its own keys, never through `overrides`."""
SINGULAR = {"games": "game", "models": "model", "spaces": "space", "strategies": "strategy"}
RESOURCE_KEYS = ("cpus", "gpus")
DEFAULT_TEACHER = "{game}__resnet20"


class GridError(ValueError):
    """A grid that cannot run: the message names the file, the job block and the key."""


@dataclass(frozen=True)
class Resources:
    """What one trial asks the scheduler for; torch threads per trial = max(1, int(cpus))."""

    cpus: float = 1.0
    gpus: float = 0.0

    @property
    def threads(self) -> int:
        """torch intra-op threads inside the trial."""
        return max(1, int(self.cpus))


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its config, its run folder name and what it asks for."""

    job: str
    arm: str
    config: A2CConfig | NotebookJob | PPOConfig  # PPOConfig: a tabular job's runs
    resources: Resources

    @property
    def run(self) -> str:
        """Run folder name under runs_dir."""
        cfg = self.config
        if isinstance(cfg, NotebookJob):
            return cfg.run
        return run_name(cfg.game, cfg.model, cfg.tag, cfg.seed)


@dataclass(frozen=True)
class Grid:
    """A validated, expanded grid: its trials in file order."""

    trials: tuple[Trial, ...]
    source: str = "<grid>"

    def table(self) -> list[dict[str, Any]]:
        """One row per trial (run, job, game, model, arm, seed, steps, cpus, gpus)."""
        return [
            {"run": t.run, "job": t.job, "game": t.config.game, "model": t.config.model,
             "arm": t.arm, "seed": t.config.seed,
             "steps": getattr(t.config, "total_steps", None),
             "cpus": t.resources.cpus, "gpus": t.resources.gpus}
            for t in self.trials
        ]  # fmt: skip


def load_grid(path: str | Path) -> Grid:
    """Read, validate and expand a grid YAML file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no grid file at {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise GridError(f"{path}: not valid YAML: {exc}") from None
    return parse_grid(data, source=str(path))


def parse_grid(data: Any, source: str = "<grid>") -> Grid:
    """Validate and expand a grid given as a mapping (the parsed YAML)."""
    if not isinstance(data, dict):
        raise GridError(f"{source}: a grid is a mapping of keys (job, preset, games, ...)")
    _check_keys(data, GRID_KEYS, source)
    shared = {k: v for k, v in data.items() if k != "jobs"}
    blocks = data.get("jobs")
    if blocks is None:
        blocks = [{}]
    elif not isinstance(blocks, list) or not blocks:
        raise GridError(f"{source}: `jobs` must be a non-empty list of job blocks")
    trials: list[Trial] = []
    for i, block in enumerate(blocks, 1):
        where = source if len(blocks) == 1 and "jobs" not in data else f"{source}, jobs[{i}]"
        if not isinstance(block, dict):
            raise GridError(f"{where}: a job block is a mapping (job: train, models: [...])")
        _check_keys(block, BLOCK_KEYS, where)
        trials += _expand_block(_merge(shared, block), where)
    _check_unique(trials, source)
    return Grid(tuple(trials), source)


def _merge(shared: dict, block: dict) -> dict:
    """A job block over the shared keys; `overrides` and `resources` merge key by key."""
    merged = {**shared, **block}
    for key in ("overrides", "resources"):
        if isinstance(shared.get(key), dict) and isinstance(block.get(key), dict):
            merged[key] = {**shared[key], **block[key]}
    return merged


def _check_keys(mapping: dict, valid: tuple[str, ...], where: str, what: str = "key") -> None:
    """Raise GridError for the first key of `mapping` not in `valid`, with close names."""
    for key in mapping:
        if key not in valid:
            close = closest_names(str(key), valid, n=1)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise GridError(
                f"{where}: unknown {what} {key!r}{hint}; valid {what}s: {', '.join(valid)}"
            )


def _axis(block: dict, name: str, default: Any, where: str) -> list:
    """The values of an axis: a list (a scalar is one value), non-empty, without repeats."""
    values = block.get(name, default)
    if values is None:
        raise GridError(f"{where}: axis `{name}` is required for a {block['job']} job")
    if not isinstance(values, list | tuple):
        values = [values]
    if not values:
        raise GridError(f"{where}: axis `{name}` is empty; give at least one value")
    repeated = [v for v, n in Counter(map(str, values)).items() if n > 1]
    if repeated:
        raise GridError(f"{where}: axis `{name}` repeats {', '.join(repeated)}")
    return list(values)


def _check_values(values: list, valid: tuple[str, ...] | list[str], axis: str, where: str) -> None:
    """Every value of an axis must be a valid name (with a did-you-mean on error)."""
    for value in values:
        try:
            check_name(str(value), valid, SINGULAR.get(axis, axis))
        except ValueError as exc:
            raise GridError(f"{where}: axis `{axis}`: {exc}") from None


def _expand_block(block: dict, where: str) -> list[Trial]:
    """The trials of one job block, in axis order (games, models/spaces, arms, seeds)."""
    job = block.setdefault("job", "train")
    if job not in JOBS:
        raise GridError(f"{where}: job must be one of {', '.join(JOBS)}, got {job!r}")
    for axis in AXES:
        if axis in block and axis not in JOB_AXES[job]:
            hint = " (search jobs take `spaces`)" if axis == "models" else ""
            raise GridError(f"{where}: a {job} job has no axis `{axis}`{hint}")
    for key in NOTEBOOK_KEYS if job != "notebook" else TRAINING_KEYS:
        if key in block:
            hint = "notebook jobs only" if job != "notebook" else "training and search jobs"
            raise GridError(f"{where}: `{key}` is a key of {hint}, not of a {job} job")
    if "preset" not in block:
        raise GridError(f"{where}: `preset` is required ({', '.join(PRESETS)})")
    try:
        preset = get_preset(str(block["preset"]))
    except ValueError as exc:
        raise GridError(f"{where}: {exc}") from None
    if job == "notebook":
        return _notebook_trials(block, preset.name, where)
    if job == "tabular":
        return _tabular_trials(block, preset, where)
    study = block.get("study", "search" if job == "search" else None)
    if study is not None:
        preset = preset.for_study(str(study))
    games = _axis(block, "games", list(preset.games), where)
    seeds = _axis(block, "seeds", list(preset.seeds), where)
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise GridError(f"{where}: axis `seeds` takes non-negative integers, got {seeds}")
    from workbench.envs import list_games

    _check_values(games, list_games(), "games", where)
    overrides = _overrides(block, SearchConfig if job == "search" else A2CConfig, where)
    resources = _resources(block.get("resources", {}), where)
    if job == "train":
        points = _train_points(block, overrides, where)
    else:
        points = _search_points(block, where)
    teacher = str(block.get("teacher", DEFAULT_TEACHER))
    tag = block.get("tag")
    trials = []
    for game in games:
        for model, arm, fields in points:
            for seed in seeds:
                point = dict(fields)
                if point["distill"] != "none":
                    point["teacher"] = _format(teacher, {"game": game}, "teacher", where)
                run_tag = _tag(tag, job, arm, preset.name, study, where)
                kwargs = {**point, **overrides, "game": game, "model": model, "seed": seed,
                          "tag": run_tag}  # fmt: skip
                cls = SearchConfig if job == "search" else A2CConfig
                config = _build(preset, cls, kwargs, where)
                trials.append(Trial(job, arm, config, resources))
    return trials


def _notebook_trials(block: dict, preset: str, where: str) -> list[Trial]:
    """The trials of a notebook job: one execution per point of its games x models x seeds."""
    from workbench.envs import list_games
    from workbench.envs.procgen import list_procgen_games
    from workbench.models import list_models

    if "notebook" not in block:
        raise GridError(f"{where}: a notebook job needs `notebook` (e.g. 01_model_size_scaling)")
    try:
        find_notebook(str(block["notebook"]))
    except (ValueError, FileNotFoundError) as exc:
        raise GridError(f"{where}: {exc}") from None
    parameters = block.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise GridError(f"{where}: `parameters` must be a mapping of notebook parameters")
    games = _axis(block, "games", [None], where)
    models = _axis(block, "models", [None], where)
    seeds = _axis(block, "seeds", [None], where)
    if "games" in block:
        _check_values(games, [*list_games(), *list_procgen_games()], "games", where)
    if "models" in block:
        _check_values(models, list_models(), "models", where)
    if "seeds" in block and not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds
    ):
        raise GridError(f"{where}: axis `seeds` takes non-negative integers, got {seeds}")
    resources = _resources(block.get("resources", {}), where)
    tag = block.get("tag")
    trials = []
    for game in games:
        for model in models:
            for seed in seeds:
                try:
                    job = NotebookJob(
                        str(block["notebook"]).removesuffix(".ipynb"), preset,
                        dict(parameters), game, model, seed,
                        None if tag is None else str(tag),
                    )  # fmt: skip
                except ValueError as exc:
                    raise GridError(f"{where}: {exc}") from None
                trials.append(Trial("notebook", job.notebook, job, resources))
    return trials


def _tabular_trials(block: dict, preset: Any, where: str) -> list[Trial]:
    """The trials of a tabular job: every architecture of notebook 06's tabular benchmark, run
    for run with the study's own settings (so the notebook then finds them finished)."""
    from workbench.envs import list_games
    from workbench.oneshot.study import oneshot_plan, tabular_settings
    from workbench.oneshot.tabular import tabular_configs

    for key in ("overrides", "teacher", "tag"):  # (its axes are checked before)
        if key in block:
            raise GridError(f"{where}: a tabular job takes no `{key}` (its runs are the study's)")
    preset = preset.for_study(str(block.get("study", "oneshot")))
    games = _axis(block, "games", list(preset.games), where)
    _check_values(games, list_games(), "games", where)
    spaces = _axis(block, "spaces", [], where) if "spaces" in block else []
    seeds = _axis(block, "seeds", [0], where)
    for name, values in (("spaces", spaces), ("seeds", seeds)):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            raise GridError(f"{where}: axis `{name}` takes non-negative integers, got {values}")
    try:
        plan = oneshot_plan(preset, spaces=spaces, games=games, table_seeds=seeds)
    except (ValueError, KeyError) as exc:
        raise GridError(f"{where}: {exc}") from None
    resources = _resources(block.get("resources", {}), where)
    return [
        Trial("tabular", f"a{cfg.arch_index}", cfg, resources)
        for space in plan.spaces
        for game in plan.games
        for cfg in tabular_configs(space, game, **tabular_settings(plan, space))
    ]


def _train_points(block: dict, overrides: dict, where: str) -> list[tuple[str, str, dict]]:
    """(model, arm, fields) of a train job: models x distill arms."""
    models = _axis(block, "models", None, where)
    if "arch" not in overrides:  # with a searched arch the model is only a label
        from workbench.models import list_models

        _check_values(models, list_models(), "models", where)
    arms = _axis(block, "distill", ["none"], where)
    _check_values(arms, DISTILL_ARMS, "distill", where)
    return [(str(m), str(a), {"distill": str(a)}) for m in models for a in arms]


def _search_points(block: dict, where: str) -> list[tuple[str, str, dict]]:
    """(model, arm, fields) of a search job: spaces x strategies x distill arms."""
    spaces = _axis(block, "spaces", ["a2d"], where)
    _check_values(spaces, SPACES, "spaces", where)
    strategies = _axis(block, "strategies", ["one-level"], where)
    _check_values(strategies, SEARCH_STRATEGIES, "strategies", where)
    arms = _axis(block, "distill", ["actor+critic"], where)
    _check_values(arms, DISTILL_ARMS, "distill", where)
    return [
        (f"supernet-{space}", search_arm(s, a),
         {"space": str(space), "strategy": str(s), "distill": str(a)})
        for space in spaces for s in strategies for a in arms
    ]  # fmt: skip


def _overrides(block: dict, cls: type[A2CConfig], where: str) -> dict[str, Any]:
    """The `overrides` mapping: only fields of the job's config class, never an axis field."""
    overrides = block.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise GridError(f"{where}: `overrides` must be a mapping of config fields")
    valid = tuple(cls.field_names())
    for key in overrides:
        if key in AXIS_FIELDS:
            raise GridError(
                f"{where}: overrides.{key} is set by the grid key `{AXIS_FIELDS[key]}`, "
                "not by overrides"
            )
    _check_keys(overrides, valid, f"{where}: overrides", what=f"{cls.__name__} field")
    return {k: _coerce(cls, k, v) for k, v in overrides.items()}


def _coerce(cls: type[A2CConfig], name: str, value: Any) -> Any:
    """YAML reads 3e7 and 1e-3 as strings: integer and float fields accept them (and 3.0e7)."""
    kind = str(next(f.type for f in dataclasses.fields(cls) if f.name == name))
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    try:
        number = float(str(value).replace("_", ""))
    except ValueError:
        return value
    if kind.startswith("int") and number == int(number):
        return int(number)
    if kind.startswith("float"):
        return number
    return value


def _resources(resources: Any, where: str) -> Resources:
    """`resources: {cpus, gpus}`: cpus > 0, gpus >= 0."""
    if not isinstance(resources, dict):
        raise GridError(f"{where}: `resources` must be a mapping like {{cpus: 1, gpus: 0}}")
    _check_keys(resources, RESOURCE_KEYS, f"{where}: resources")
    cpus, gpus = resources.get("cpus", 1), resources.get("gpus", 0)
    for name, value, low in (("cpus", cpus, 0.0), ("gpus", gpus, -1e-12)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > low:
            raise GridError(f"{where}: resources.{name} must be a number > {max(low, 0)}, "
                            f"got {value!r}")  # fmt: skip
    return Resources(float(cpus), float(gpus))


def _format(template: str, values: dict[str, str], key: str, where: str) -> str:
    """Fill {placeholders} of a grid string; unknown placeholders are an error."""
    names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    unknown = names - set(values)
    if unknown:
        raise GridError(
            f"{where}: `{key}` uses unknown placeholders {sorted(unknown)}; "
            f"it may use {', '.join('{' + v + '}' for v in values)}"
        )
    return template.format(**values)


def _tag(tag: Any, job: str, arm: str, preset: str, study: str | None, where: str) -> str:
    """Run tag: the notebooks' tags by default (a2c-<preset>, distill-<arm>-<preset>, ...).

    Under the distillation study every arm, `none` included, is tagged distill-<arm>-<preset>
    as notebook 02 tags it: its budget differs from notebook 01's a2c-<preset> runs.
    """
    if tag is None:
        if job == "search":
            tag = "search-{arm}-{preset}"
        elif arm == "none" and study != "distillation":
            tag = "a2c-{preset}"
        else:
            tag = "distill-{arm}-{preset}"
    return _format(str(tag), {"arm": arm, "preset": preset, "job": job}, "tag", where)


def _build(preset: Any, cls: type[A2CConfig], kwargs: dict[str, Any], where: str) -> A2CConfig:
    """Build one config at the preset's budget (`preset_config`, as the notebooks do); a field
    error names the trial it belongs to."""
    try:
        return preset_config(preset, cls, **kwargs)
    except (TypeError, ValueError) as exc:
        trial = f"{kwargs['game']}/{kwargs['model']}/{kwargs['tag']}/s{kwargs['seed']}"
        raise GridError(f"{where}: trial {trial}: {exc}") from None


def check_teachers(grid: Grid) -> None:
    """Load every (teacher, game) pair the grid's distillation arms need, once."""
    from workbench.rl.teacher import load_teacher

    pairs = {
        (t.config.teacher, t.config.game)
        for t in grid.trials
        if getattr(t.config, "distill", "none") != "none"
    }
    for source, game in sorted(pairs):
        try:
            load_teacher(source, game=game)
        except (ValueError, OSError, RuntimeError) as exc:
            raise GridError(f"{grid.source}: teacher {source!r} for {game}: {exc}") from None


def _check_unique(trials: list[Trial], source: str) -> None:
    """Two trials of a grid never share a run folder."""
    repeated = [name for name, n in Counter(t.run for t in trials).items() if n > 1]
    if repeated:
        raise GridError(
            f"{source}: several trials would write the same run folder: {', '.join(repeated)}; "
            "give each job block its own `tag` (placeholders {arm}, {preset}, {job})"
        )
