"""Configs declared once: the fields every run has live in RunConfig, the CLIs' options take
their defaults from the fields they mirror, and presets become configs in one function."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from workbench import cli
from workbench.config import ONESHOT_SPACE_SIZES, A2CConfig, PPOConfig, RunConfig, SearchConfig
from workbench.darts import cli as darts_cli
from workbench.darts.config import DartsConfig
from workbench.oneshot import cli as oneshot_cli
from workbench.oneshot.config import OneShotConfig
from workbench.presets import PRESETS, preset_config

SHARED = (
    "game", "model", "total_steps", "num_envs", "rollout_length", "gamma", "lr", "entropy_coef",
    "value_coef", "max_grad_norm", "seed", "backend", "eval_interval", "eval_episodes",
    "greedy_eval", "checkpoint_interval", "log_interval", "tag",
)  # fmt: skip


def test_the_fields_every_run_has_are_declared_once() -> None:
    assert RunConfig.field_names() == list(SHARED)
    for cls in (A2CConfig, SearchConfig, PPOConfig, OneShotConfig, DartsConfig):
        assert issubclass(cls, RunConfig) and set(SHARED) <= set(cls.field_names())
    a2c_only = set(A2CConfig.field_names()) - set(SHARED)
    ppo_only = set(PPOConfig.field_names()) - set(SHARED)
    assert not a2c_only & ppo_only  # nothing else is declared twice


@pytest.mark.parametrize("cls", [A2CConfig, PPOConfig])
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_envs": 0}, "num_envs must be a positive integer"),
        ({"log_interval": 2.5}, "log_interval must be a positive integer"),
        ({"backend": "gpu"}, "backend must be one of"),
        ({"gamma": 1.5}, "gamma must be in"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"max_grad_norm": -1.0}, "max_grad_norm must be > 0"),
        ({"entropy_coef": -1.0}, "entropy_coef must be >= 0"),
        ({"value_coef": -0.1}, "value_coef must be >= 0"),
    ],
)
def test_shared_fields_are_validated_once_for_every_run(
    cls: type, changes: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cls(**changes)


def test_ppo_checks_arch_index_without_building_the_space() -> None:
    from workbench.oneshot.spaces import get_space, list_spaces

    assert {n: len(get_space(n)) for n in list_spaces()} == ONESHOT_SPACE_SIZES
    assert PPOConfig(space=2, arch_index=31).kind == "ppo-tabular"
    assert PPOConfig(space="space1", arch_index=24).arch_index == 24
    with pytest.raises(ValueError, match="architecture 32 is not in search space 2"):
        PPOConfig(space=2, arch_index=32)
    with pytest.raises(ValueError, match="an architecture index is an int"):
        PPOConfig(space=1, arch_index=1.5)


def _options(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, object]]:
    """(command, action) of every option of a parser and its sub-commands."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _options(sub, f"{prefix}{name} ".lstrip())
        else:
            found.append((prefix.strip(), action))
    return found


DELIBERATE = {**cli.DELIBERATE_DEFAULTS, **darts_cli.DELIBERATE_DEFAULTS,
              **oneshot_cli.DELIBERATE_DEFAULTS}  # fmt: skip
MIRRORS = {  # options with another name than their field
    "steps": "total_steps",
    "cost_lambda": "cost_lambda",
    "nodes": "num_nodes",
}


def test_cli_options_have_their_config_fields_defaults() -> None:
    """Every option that mirrors a config field defaults to the field's default, except the few
    each CLI lists (with the reason) in DELIBERATE_DEFAULTS."""
    mirrored, differing = 0, set()
    for command, action in _options(cli.build_parser()):
        field = getattr(action, "config_field", None)
        if field is None:
            continue
        mirrored += 1
        cls, name = field
        assert MIRRORS.get(action.dest, action.dest) == name, (command, action.dest)
        default = {f.name: f.default for f in dataclasses.fields(cls)}[name]
        if action.default != default:
            differing.add((command, action.dest))
            assert (command, action.dest) in DELIBERATE, (
                f"`workbench {command}` --{action.dest} defaults to {action.default!r}, "
                f"{cls.__name__}.{name} to {default!r}: use the field's default or name it in "
                "DELIBERATE_DEFAULTS with the reason"
            )
    assert mirrored > 50
    assert differing == set(DELIBERATE), set(DELIBERATE) - differing  # no stale entries


NOT_MIRRORS = {
    ("train", "arch"): "a JSON file, read into the arch field",
    ("sweep-space", "space"): "required: the space whose architectures are trained",
    ("darts evaluate", "genotype"): "a genotype JSON file, read into the genotype field",
}
"""Options named like a field that take something else (no default to share)."""


def test_hand_written_options_do_not_shadow_config_fields() -> None:
    """An option whose dest is a field of its command's config must be made by FieldOptions."""
    fields = set(DartsConfig.field_names()) | set(SearchConfig.field_names())
    for command, action in _options(cli.build_parser()):
        if command.split(" ")[0] in ("train", "search", "cosearch", "darts", "sweep-space"):
            if (action.dest in fields or action.dest in MIRRORS) and (
                (command, action.dest) not in NOT_MIRRORS
            ):
                assert hasattr(action, "config_field"), (command, action.dest)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_become_configs_in_one_function(preset: str) -> None:
    from workbench.experiments.grid import parse_grid
    from workbench.experiments.training_grid import preset_configs, search_configs

    budget = PRESETS[preset]
    cfg = preset_config(budget, A2CConfig, game="Pong", tag="x")
    assert (cfg.total_steps, cfg.eval_interval, cfg.eval_episodes, cfg.checkpoint_interval) == (
        budget.train_steps, budget.eval_interval, budget.eval_episodes,
        budget.checkpoint_interval,
    )  # fmt: skip
    assert cfg.log_interval == min(10_000, budget.train_steps)
    search = budget.for_study("search")
    found = search_configs(search, ["Breakout"], ["vanilla-dnas"], [0])[0]
    assert found.alpha_log_interval == max(search.train_steps // 20, 1)
    grid = parse_grid({"job": "search", "preset": preset, "games": ["Breakout"], "seeds": [0],
                       "strategies": ["one-level"], "distill": ["none"]})  # fmt: skip
    assert grid.trials[0].config == found
    train = parse_grid({"job": "train", "preset": preset, "games": ["Pong"], "seeds": [1],
                        "models": ["vanilla"]})  # fmt: skip
    assert train.trials[0].config == preset_configs(budget, ["Pong"], ["vanilla"], [1])[0]
