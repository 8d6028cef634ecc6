"""Actor-critic distillation (A2D Eq. 6-8): the losses by hand, the four arms on real Breakout,
teacher loading and its errors."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from workbench.config import DISTILL_ARMS, A2CConfig
from workbench.models import create_agent
from workbench.names import UnknownNameError
from workbench.rl.a2c import train
from workbench.rl.distillation import (
    actor_distill_loss,
    critic_distill_loss,
    distillation_loss,
)
from workbench.rl.teacher import TeacherMismatch, export_teacher, load_teacher
from workbench.runs.folder import CheckpointError, load_checkpoint_file

TINY = {
    "game": "Breakout",
    "model": "vanilla",
    "total_steps": 160,
    "num_envs": 4,
    "rollout_length": 5,
    "eval_interval": 160,
    "eval_episodes": 1,
    "checkpoint_interval": 160,
    "log_interval": 20,
    "backend": "gymnasium",
}


# --- the losses by hand ---------------------------------------------------------------------
def test_actor_distill_is_kl_teacher_to_student() -> None:
    p_t = torch.tensor([[0.9, 0.05, 0.05]])
    p_s = torch.tensor([[0.34, 0.33, 0.33]])
    pairs = list(zip(p_t[0].tolist(), p_s[0].tolist(), strict=True))
    expected = sum(a * math.log(a / b) for a, b in pairs)
    reverse = sum(b * math.log(b / a) for a, b in pairs)
    got = actor_distill_loss(p_t.log(), p_s.log()).item()
    assert got == pytest.approx(expected, rel=1e-5)
    assert abs(expected - reverse) > 0.1  # the direction is visible in this example


def test_actor_distill_is_zero_when_policies_agree() -> None:
    logits = torch.randn(6, 4)
    assert actor_distill_loss(logits, logits + 3.0).item() == pytest.approx(0.0, abs=1e-6)
    assert actor_distill_loss(logits, torch.zeros(6, 4)).item() > 0.0


def test_actor_distill_averages_over_states() -> None:
    t = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    s = torch.zeros(2, 2)
    first = actor_distill_loss(t[:1], s[:1]).item()
    assert actor_distill_loss(t, s).item() == pytest.approx(first / 2, rel=1e-6)


def test_critic_distill_is_half_squared_error() -> None:
    student = torch.tensor([1.0, 2.0, -1.0])
    teacher = torch.tensor([0.0, 4.0, -1.0])
    assert critic_distill_loss(student, teacher).item() == pytest.approx(0.5 * (1 + 4 + 0) / 3)


def test_arm_terms_and_coefficients() -> None:
    s_logits, t_logits = torch.randn(5, 3), torch.randn(5, 3)
    s_values, t_values = torch.randn(5), torch.randn(5)
    kl = actor_distill_loss(t_logits, s_logits)
    mse = critic_distill_loss(s_values, t_values)
    coefs = {"actor_coef": 0.1, "critic_coef": 1e-3}
    losses = {
        arm: distillation_loss(arm, s_logits, s_values, t_logits, t_values, **coefs).total.item()
        for arm in DISTILL_ARMS
    }
    assert losses["none"] == 0.0
    assert losses["actor"] == pytest.approx(0.1 * kl.item())
    assert losses["actor+reuse-critic"] == pytest.approx(0.1 * kl.item())
    assert losses["actor+critic"] == pytest.approx(0.1 * kl.item() + 1e-3 * mse.item())
    with pytest.raises(ValueError, match="must be one of"):
        distillation_loss("critic", s_logits, s_values, t_logits, t_values, **coefs)


def test_gradients_never_reach_the_teacher() -> None:
    teacher = create_agent("vanilla", 4)
    student = create_agent("vanilla", 4)
    obs = torch.randint(0, 255, (3, 4, 84, 84), dtype=torch.uint8)
    t_logits, t_values = teacher(obs)  # deliberately with a graph: the loss must cut it
    s_logits, s_values = student(obs)
    loss = distillation_loss(
        "actor+critic", s_logits, s_values, t_logits, t_values, actor_coef=1.0, critic_coef=1.0
    )
    loss.total.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert student.actor.weight.grad is not None and student.critic.weight.grad is not None


# --- config validation ----------------------------------------------------------------------
def test_config_rejects_bad_distillation_settings() -> None:
    with pytest.raises(ValueError, match="distill must be one of"):
        A2CConfig(distill="critic", teacher="x")
    with pytest.raises(ValueError, match="needs a teacher"):
        A2CConfig(distill="actor")
    for name in ("actor_distill_coef", "critic_distill_coef"):
        with pytest.raises(ValueError, match=name):
            A2CConfig(distill="actor", teacher="x", **{name: -0.1})


def test_agent_without_critic_has_no_critic_parameters() -> None:
    agent = create_agent("vanilla", 4, critic=False)
    assert agent.critic is None
    assert not any(name.startswith("critic") for name, _ in agent.named_parameters())
    logits, values = agent(torch.zeros(2, 4, 84, 84, dtype=torch.uint8))
    assert logits.shape == (2, 4) and values is None


# --- teachers and the four arms on real Breakout ----------------------------------------------
@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A (tiny, real) Breakout run to serve as a teacher."""
    path = tmp_path_factory.mktemp("teacher") / "run"
    train(A2CConfig(**{**TINY, "seed": 7, "tag": "teacher"}), path, progress=False)
    return path


@pytest.mark.parametrize("arm", DISTILL_ARMS[1:])
def test_each_arm_trains_and_leaves_the_teacher_alone(
    arm: str, teacher_run: Path, tmp_path: Path
) -> None:
    before = load_checkpoint_file(teacher_run / "checkpoints" / "latest.pt")["model"]
    cfg = A2CConfig(**TINY, distill=arm, teacher=str(teacher_run))
    result = train(cfg, tmp_path / arm, progress=False)
    assert result.completed
    after = load_checkpoint_file(teacher_run / "checkpoints" / "latest.pt")["model"]
    assert all(torch.equal(before[k], after[k]) for k in before)
    student = load_checkpoint_file(tmp_path / arm / "checkpoints" / "latest.pt")["model"]
    has_critic = any(k.startswith("critic") for k in student)
    assert has_critic == (arm != "actor+reuse-critic")
    df = pd.read_csv(result.run_dir / "metrics.csv")
    assert (df["actor_distill"] > 0).all()
    assert ((df["critic_distill"] > 0) == (arm == "actor+critic")).all()


def test_reuse_critic_student_actor_learns(teacher_run: Path, tmp_path: Path) -> None:
    cfg = A2CConfig(**TINY, distill="actor+reuse-critic", teacher=str(teacher_run))
    train(cfg, tmp_path / "r", progress=False)
    student = load_checkpoint_file(tmp_path / "r" / "checkpoints" / "latest.pt")["model"]
    torch.manual_seed(cfg.seed)
    fresh = create_agent("vanilla", 4, critic=False).state_dict()
    assert set(student) == set(fresh)
    assert not torch.equal(student["actor.weight"], fresh["actor.weight"])


def test_distilled_training_is_deterministic(teacher_run: Path, tmp_path: Path) -> None:
    cfg = A2CConfig(**TINY, distill="actor+critic", teacher=str(teacher_run))
    a = train(cfg, tmp_path / "a", progress=False).run_dir
    b = train(cfg, tmp_path / "b", progress=False).run_dir
    wa = load_checkpoint_file(a / "checkpoints" / "latest.pt")["model"]
    wb = load_checkpoint_file(b / "checkpoints" / "latest.pt")["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_teacher_is_frozen_in_eval_mode(teacher_run: Path) -> None:
    teacher = load_teacher(teacher_run, game="Breakout", num_actions=4)
    assert not teacher.agent.training
    assert not any(p.requires_grad for p in teacher.agent.parameters())
    logits, values = teacher(torch.zeros(2, 4, 84, 84, dtype=torch.uint8))
    assert logits.shape == (2, 4) and values.shape == (2,) and not logits.requires_grad


def test_teacher_from_another_game_names_both(teacher_run: Path, tmp_path: Path) -> None:
    with pytest.raises(TeacherMismatch, match="trained on Breakout, the student plays Pong"):
        load_teacher(teacher_run, game="Pong")
    cfg = A2CConfig(**{**TINY, "game": "Pong"}, distill="actor", teacher=str(teacher_run))
    with pytest.raises(TeacherMismatch, match="Breakout.*Pong"):
        train(cfg, tmp_path / "pong", progress=False)


def test_teacher_with_other_action_count_names_both(teacher_run: Path) -> None:
    with pytest.raises(TeacherMismatch, match="4 actions.*has 18"):
        load_teacher(teacher_run, game="Breakout", num_actions=18)


def test_missing_and_corrupt_teachers_are_clear(teacher_run: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such file"):
        load_teacher(tmp_path / "nowhere.pt")
    with pytest.raises(UnknownNameError, match="unknown teacher"):
        load_teacher("Breakout__resnet2")
    exported = export_teacher(teacher_run, tmp_path / "exported")
    assert load_teacher(exported, game="Breakout").game == "Breakout"
    blob = (exported / "teacher.pt").read_bytes()
    (exported / "teacher.pt").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_teacher(exported)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be loaded"):
        load_teacher(junk)


# --- the ablation table and the study budgets ---------------------------------------------------
def test_distillation_table_aggregates_seeds_and_puts_paper_beside() -> None:
    from workbench.experiments.training_grid import distillation_configs
    from workbench.presets import get_preset
    from workbench.viz.tables import distillation_table

    rows = []
    for arm, scores in {"actor+critic": [(10, 30), (20, 10)], "none": [(1, 2), (3, 4)]}.items():
        for seed, (first, second) in enumerate(scores):
            for step, score in ((100, first), (200, second)):
                rows.append(
                    {"game": "Alien", "model": "vanilla", "distill": arm, "seed": seed,
                     "step": step, "mean": score}
                )  # fmt: skip
    table = distillation_table(pd.DataFrame(rows))
    assert list(table["distill"]) == ["none", "actor+critic"]  # the arms' order, not alphabetical
    ac = table.set_index("distill").loc["actor+critic"]
    assert ac["seeds"] == 2 and ac["best_mean"] == 25 and ac["final_mean"] == 20
    assert ac["best_min"] == 20 and ac["best_max"] == 30
    assert ac["paper_score"] == 3419 and ac["paper_source"] == "A2D Tab. 2"

    laptop = get_preset("laptop")
    study = laptop.for_study("distillation")
    assert study.train_steps >= 500_000 and len(study.seeds) >= 2 and study.games == ("Breakout",)
    smoke = get_preset("smoke")
    assert smoke.for_study("distillation") == smoke.for_study("no such study")  # no override
    # notebooks 04/05 retrain at `retrain`: the distillation runs at smoke and paper, but at laptop
    # a budget of its own whose name keeps its run folders apart from the 5e5-step ones
    assert smoke.for_study("retrain") == smoke.for_study("distillation")
    assert get_preset("paper").for_study("retrain") == get_preset("paper").for_study("distillation")
    retrain = laptop.for_study("retrain")
    assert retrain.name != study.name and retrain.train_steps < study.train_steps
    configs = distillation_configs(retrain, ("Breakout",), ["vanilla"], ["none"], (0,))
    assert {c.tag for c in configs} == {"distill-none-laptop-retrain"}
