"""Run kinds: which config class, agent builder and trainer a run folder's config belongs to.

Every run folder's config.json names its `kind` (its first key); each package registers the
kinds it owns in a small `kinds` module (KIND_MODULES), which this registry imports by name the
first time a kind is looked up. So this module, at the bottom of the package, imports nothing
from the layers above it, and nothing guesses a run's kind from which keys its config has:

| kind | config | agent | registered by |
|---|---|---|---|
| a2c | A2CConfig, `arch` None | a registered backbone | workbench.rl.kinds |
| ppo | PPOConfig, `arch_index` None | a registered backbone | workbench.rl.kinds |
| a2c-arch | A2CConfig with a searched `arch` | nas.space.build_model | workbench.nas.kinds |
| dnas | SearchConfig, cost "macs" | the supernet (argmax until a search samples) | nas.kinds |
| cosearch | SearchConfig, cost "latency" | the supernet | workbench.hardware.kinds |
| ppo-tabular | PPOConfig with `space` + `arch_index` | oneshot.spaces.build_space_model | oneshot |
| oneshot | OneShotConfig (SPOS, ENAS) | the one-shot supernet | workbench.oneshot.kinds |
| darts | DartsConfig | supernet, cell or IMPALA-CNN encoder | workbench.darts.kinds |

Folders written before config.json named its kind (runs/laptop, the shipped teachers) have
their kind inferred once, here, from their keys (`infer_config_class`), then read from the
config object's own `kind` property.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KIND_MODULES = (
    "workbench.rl.kinds",
    "workbench.nas.kinds",
    "workbench.hardware.kinds",
    "workbench.oneshot.kinds",
    "workbench.darts.kinds",
)
"""Modules that register kinds when imported (each registers those of its package)."""

KIND_KEY = "kind"
"""The key of config.json (and of a checkpoint's config) that names the run kind."""


@dataclass(frozen=True)
class RunKind:
    """One kind of run: its config class, how to build its agent and how to train it."""

    name: str
    """e.g. "a2c"; what config.json's `kind` and the config's `kind` property say."""
    config_class: type
    """The config dataclass."""
    build_agent: Callable
    """(cfg, num_actions, obs_shape | None, critic) -> ActorCritic; obs_shape None: the kind's
    default for cfg (Atari 4x84x84, Procgen 3x64x64)."""
    train: Callable
    """(cfg, run_dir, *, progress=None, stop_after_segments=None, tensorboard=False) ->
    TrainResult."""
    make_plugin: Callable | None = None
    """The training engine's plug-in of the kind (a search), None: no plug-in."""
    algorithm: str = ""
    """The training engine's algorithm (a2c, ppo)."""


_KINDS: dict[str, RunKind] = {}
_loaded = False


def register_kind(kind: RunKind) -> None:
    """Add a kind; registering a name again replaces it (a module imported twice, a reload)."""
    _KINDS[kind.name] = kind


def _load() -> None:
    """Import every module of KIND_MODULES once (each registers its kinds)."""
    global _loaded
    if _loaded:
        return
    _loaded = True  # before importing: a registering module may look kinds up itself
    try:
        for module in KIND_MODULES:
            importlib.import_module(module)
    except BaseException:
        _loaded = False
        raise


def list_kinds() -> list[str]:
    """Names of the registered kinds, sorted."""
    _load()
    return sorted(_KINDS)


def get_kind(name: str) -> RunKind:
    """The kind called `name`; ValueError listing the kinds otherwise."""
    _load()
    if name not in _KINDS:
        raise ValueError(f"unknown run kind {name!r}; run kinds are {', '.join(sorted(_KINDS))}")
    return _KINDS[name]


# --- configs as dicts (config.json, a checkpoint's "config") --------------------------------

PPO_ONLY_KEYS = (
    "epochs", "minibatches", "clip", "clip_value", "gae_lambda", "adam_eps", "lr_schedule",
    "normalize_advantages", "arch_index", "env",
)  # fmt: skip
"""Keys only PPO configs have (A2C's have none of them): how an old PPO run is recognised."""


def infer_kind_family(config: dict) -> str:
    """For a config dict without `kind` (a folder written before kinds were recorded): the kind
    whose config class it holds. op_space and encoder: darts; method: oneshot; strategy: dnas
    (SearchConfig); any PPO-only key: ppo (PPOConfig); else a2c (A2CConfig). The object's own
    `kind` property then tells e.g. a2c from a2c-arch or dnas from cosearch."""
    if "op_space" in config and "encoder" in config:
        return "darts"
    if "method" in config:
        return "oneshot"
    if "strategy" in config:
        return "dnas"
    if any(key in config for key in PPO_ONLY_KEYS):
        return "ppo"
    return "a2c"


def fields_of(config: dict) -> dict:
    """The config's fields: the dict without its `kind` key (what is hashed and compared)."""
    return {k: v for k, v in config.items() if k != KIND_KEY}


def _construct(cls: type, fields: dict, what: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise ValueError(
            f"{what}: unknown {cls.__name__} field(s) {', '.join(unknown)}; a run folder from "
            "another version of the workbench?"
        )
    return cls(**fields)


def config_from_dict(config: dict) -> Any:
    """The config object of a config dict (config.json, a checkpoint's config); `kind` is dropped
    after choosing the class. Unknown keys are an error naming them."""
    if KIND_KEY in config:
        kind = get_kind(config[KIND_KEY])
        cfg = _construct(kind.config_class, fields_of(config), f"a {kind.name} run's config")
        if cfg.kind != kind.name:
            raise ValueError(
                f"config.json says kind {kind.name!r} but its fields make a {cfg.kind!r} run"
            )
        return cfg
    family = get_kind(infer_kind_family(config))
    return _construct(family.config_class, config, f"a config without {KIND_KEY!r}")


def kind_of(config: dict) -> str:
    """The run kind of a config dict: its `kind` key, else inferred (old run folders)."""
    if KIND_KEY in config:
        return str(config[KIND_KEY])
    return config_from_dict(config).kind


def build_agent(
    config: dict, num_actions: int, *, obs_shape: tuple | None = None, critic: bool = True
):
    """The agent a config dict describes (untrained), built by its kind's builder."""
    cfg = config_from_dict(config)
    return get_kind(cfg.kind).build_agent(cfg, num_actions, obs_shape, critic)


def agent_from_state(state: dict):
    """Rebuild a trained agent from a checkpoint dict (model weights, num_actions, config)."""
    weights = state["model"]
    critic = any(key.startswith("critic.") for key in weights)
    agent = build_agent(state["config"], state["num_actions"], critic=critic)
    agent.load_state_dict(weights)
    return agent
