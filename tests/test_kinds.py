"""Run kinds: the registry, config.json's `kind`, kinds inferred for old run folders, config
hashes that did not change, and agents built by kind."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
import torch

from workbench.config import A2CConfig, PPOConfig, SearchConfig
from workbench.darts.config import DartsConfig
from workbench.models import ActorCritic, create_agent
from workbench.oneshot.config import OneShotConfig
from workbench.runs import kinds
from workbench.runs.folder import (
    RESULT,
    RunDir,
    check_same_config,
    config_hash,
    load_runs,
    run_finished,
)
from workbench.runs.kinds import (
    agent_from_state,
    build_agent,
    config_from_dict,
    get_kind,
    infer_kind_family,
    kind_of,
    list_kinds,
)

REPO = Path(__file__).resolve().parents[1]
KINDS = ("a2c", "a2c-arch", "cosearch", "darts", "dnas", "oneshot", "ppo", "ppo-tabular")

CONFIGS = {
    "a2c": A2CConfig(game="Pong", model="resnet20", total_steps=1000, distill="actor",
                     teacher="t"),
    "a2c-arch": A2CConfig(arch={f"cell_{i}": "conv3" if i % 2 else "ir3_e3" for i in range(14)},
                          model="arch-x"),
    "dnas": SearchConfig(strategy="bi-level"),
    "cosearch": SearchConfig(cost="latency", sampler="hard", das_iterations=1500),
    "ppo": PPOConfig.procgen(),
    "ppo-tabular": PPOConfig(space=1, arch_index=17, model="space1-a17"),
    "oneshot": OneShotConfig(method="enas", space=2),
    "darts": DartsConfig.evaluation("Dodgeball"),
}  # fmt: skip
HASHES_BEFORE_KINDS = {
    "a2c": "37a0a0dfb514",
    "a2c-arch": "0441317435b8",
    "dnas": "c58b3b8c5b56",
    "cosearch": "c9300c23520e",
    "ppo": "fe1c92dc7775",
    "ppo-tabular": "78bbcf7c082d",
    "oneshot": "2c7b05a66d59",
    "darts": "6f6cc212e6de",
}
"""config_hash(asdict(cfg)) of CONFIGS computed by the workbench before runs had kinds (and
before RunConfig): the same configs still name the same runs."""


def _old_hash(fields: dict) -> str:
    """config_hash as it was written before kinds: sha256 of the sorted fields' JSON."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def test_every_kind_is_registered_and_named_by_its_config() -> None:
    assert list_kinds() == sorted(KINDS)
    for name, cfg in CONFIGS.items():
        assert cfg.kind == name
        kind = get_kind(name)
        assert isinstance(cfg, kind.config_class) and kind.name == name
        assert "kind" not in dataclasses.asdict(cfg)  # a property, not a field
    with pytest.raises(ValueError, match="unknown run kind 'rainbow'; run kinds are a2c, a2c-arch"):
        get_kind("rainbow")


@pytest.mark.parametrize("name", KINDS)
def test_config_hashes_did_not_change(name: str) -> None:
    fields = dataclasses.asdict(CONFIGS[name])
    assert config_hash(fields) == _old_hash(fields) == HASHES_BEFORE_KINDS[name]
    assert config_hash({"kind": name, **fields}) == HASHES_BEFORE_KINDS[name]


@pytest.mark.parametrize("name", KINDS)
def test_config_json_names_the_kind_first_and_hashes_as_before(tmp_path: Path, name: str) -> None:
    cfg = CONFIGS[name]
    run = RunDir(tmp_path / "run", cfg)
    stored = json.loads((tmp_path / "run" / "config.json").read_text())
    assert list(stored)[0] == "kind" and stored["kind"] == name
    assert {k: v for k, v in stored.items() if k != "kind"} == dataclasses.asdict(cfg)
    assert run.config == dataclasses.asdict(cfg)  # what is hashed and checkpointed
    assert kind_of(stored) == name and config_from_dict(stored) == cfg
    run.mark_complete(cfg.total_steps)
    result = json.loads((tmp_path / "run" / RESULT).read_text())
    assert result["config_hash"] == HASHES_BEFORE_KINDS[name]
    assert run_finished(tmp_path / "run", cfg) and run_finished(tmp_path / "run", stored)
    RunDir(tmp_path / "run", cfg)  # reopened: the same config
    with pytest.raises(ValueError, match="another config"):
        RunDir(tmp_path / "run", dataclasses.replace(cfg, seed=cfg.seed + 1))


def test_a_folder_without_kind_is_the_same_run(tmp_path: Path) -> None:
    """A folder written before kinds (config.json = the fields) resumes and counts as done."""
    cfg = CONFIGS["dnas"]
    (tmp_path / "run").mkdir()
    fields = dataclasses.asdict(cfg)
    (tmp_path / "run" / "config.json").write_text(json.dumps(fields, indent=2))
    result = {"completed": True, "steps": cfg.total_steps, "config_hash": _old_hash(fields)}
    (tmp_path / "run" / RESULT).write_text(json.dumps(result))
    assert run_finished(tmp_path / "run", cfg)
    check_same_config(tmp_path / "run", cfg)
    assert RunDir(tmp_path / "run", cfg).is_complete()
    assert "kind" not in json.loads((tmp_path / "run" / "config.json").read_text())  # kept as is


@pytest.mark.parametrize(
    ("keys", "family"),
    [
        ({"op_space": "classic", "encoder": "cell", "method": "x", "epochs": 1}, "darts"),
        ({"method": "spos", "epochs": 4}, "oneshot"),
        ({"strategy": "one-level"}, "dnas"),
        ({"epochs": 4}, "ppo"),
        ({"clip": 0.1}, "ppo"),
        ({"arch_index": 3}, "ppo"),
        ({"distill": "none"}, "a2c"),
        ({}, "a2c"),
    ],
)
def test_old_configs_infer_their_class(keys: dict, family: str) -> None:
    assert infer_kind_family(keys) == family


def test_inferred_kinds_come_from_the_config_object() -> None:
    for name, cfg in CONFIGS.items():
        assert kind_of(dataclasses.asdict(cfg)) == name  # no kind key: inferred
    with pytest.raises(ValueError, match="unknown A2CConfig field.*colour"):
        config_from_dict({"game": "Pong", "colour": "red"})
    with pytest.raises(ValueError, match="unknown PPOConfig field"):
        config_from_dict({"kind": "ppo", "strategy": "one-level"})
    with pytest.raises(ValueError, match="says kind 'a2c' but its fields make a 'a2c-arch'"):
        config_from_dict({"kind": "a2c", "arch": {"cell_0": "conv3"}})


def _committed_runs() -> list[Path]:
    folders = [*REPO.glob("runs/**/config.json"), *REPO.glob("workbench/teachers/*/config.json"),
               *REPO.glob("workbench/examples/*/config.json")]  # fmt: skip
    return sorted(p.parent for p in folders)


def _expected_kind(path: Path) -> str:
    """The kind of a committed run folder, from its name (<game>__<model>__<tag>__s<seed>)."""
    if path.name.startswith("ppo_"):  # runs/learning_check
        return "ppo"
    if path.name == "search_breakout_a2d":  # the inspector's shipped example
        return "dnas"
    game, model, tag = (path.name.split("__") + ["", ""])[:3]
    if game == "Dodgeball":
        return "darts"
    if model.startswith("supernet-space"):
        return "oneshot"
    if model.startswith("space"):
        return "ppo-tabular"
    if model.startswith("supernet-"):
        return "cosearch" if "cosearch" in tag else "dnas"
    return "a2c-arch" if model.startswith("arch-") else "a2c"


def test_committed_run_folders_and_teachers_keep_their_kind_and_stay_complete() -> None:
    runs = _committed_runs()
    assert len(runs) >= 70, runs  # runs/laptop, runs/learning_check, teachers, the example
    seen = set()
    for path in runs:
        stored = json.loads((path / "config.json").read_text())
        cfg = config_from_dict(stored)
        assert kind_of(stored) == cfg.kind == _expected_kind(path), path
        seen.add(cfg.kind)
        check_same_config(path, cfg)  # would resume, not retrain
        if (path / RESULT).exists() and json.loads((path / RESULT).read_text())["completed"]:
            assert run_finished(path, cfg), path
    assert seen == set(KINDS)
    assert any((p / RESULT).exists() for p in runs)


def test_load_runs_has_a_kind_column() -> None:
    evals = load_runs(REPO / "runs" / "learning_check")
    assert set(evals["kind"]) == {"ppo"}


@pytest.mark.parametrize("name", KINDS)
def test_agents_are_built_by_kind_and_rebuilt_from_checkpoints(name: str) -> None:
    cfg = CONFIGS[name]
    fields = dataclasses.asdict(cfg)
    agent = build_agent({"kind": name, **fields}, 5)
    assert isinstance(agent, ActorCritic) and agent.actor.out_features == 5
    shape = (3, 64, 64) if getattr(cfg, "env", "atari") == "procgen" else (4, 84, 84)
    logits, values = agent(torch.zeros(2, *shape, dtype=torch.uint8))
    assert logits.shape == (2, 5) and values.shape == (2,)
    state = {"model": agent.state_dict(), "num_actions": 5, "config": fields}  # an old one
    rebuilt = agent_from_state(state)
    assert type(rebuilt.backbone) is type(agent.backbone)
    pairs = zip(rebuilt.state_dict().values(), agent.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    no_critic = build_agent(fields, 5, critic=False)
    assert no_critic.critic is None


def test_a2c_agents_are_the_registered_backbones_as_before() -> None:
    """The a2c builder draws the same weights as create_agent (what models.build_agent did)."""
    torch.manual_seed(0)
    built = build_agent(dataclasses.asdict(A2CConfig(model="resnet14")), 4)
    torch.manual_seed(0)
    direct = create_agent("resnet14", 4)
    for a, b in zip(built.state_dict().values(), direct.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_the_registry_imports_kind_modules_lazily() -> None:
    assert kinds.KIND_MODULES[0] == "workbench.rl.kinds"
    source = Path(kinds.__file__).read_text()
    assert "from workbench." not in source and "import workbench" not in source
