"""PPO: GAE and the clipped loss by hand, the config, and tiny runs on real Breakout (run folder,
determinism, exact resume, divergence)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from run_weights import run_weights, same_weights

from workbench.config import PPOConfig
from workbench.rl.a2c import TrainingDiverged
from workbench.rl.gae import gae
from workbench.rl.losses import nstep_returns
from workbench.rl.ppo import cosine_lr, learning_rate, ppo_loss, train_ppo
from workbench.runs.folder import load_checkpoint_file

# 2 envs x 32 steps per update, 4 updates, a checkpoint every 2 updates: 256 Breakout steps
SMALL = {
    "game": "Breakout",
    "model": "space1-a17",
    "space": 1,
    "arch_index": 17,
    "total_steps": 256,
    "num_envs": 2,
    "rollout_length": 32,
    "epochs": 2,
    "minibatches": 2,
    "eval_interval": 256,
    "eval_episodes": 1,
    "checkpoint_interval": 128,
    "log_interval": 64,
    "backend": "gymnasium",
}


# --- maths by hand --------------------------------------------------------------------------


def test_gae_by_hand() -> None:
    g, lam = 0.9, 0.5
    rewards = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    values = torch.tensor([[0.5, 1.0], [1.0, 2.0], [3.0, 0.0]])
    dones = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    bootstrap = torch.tensor([10.0, 5.0])
    adv, ret = gae(rewards, values, dones, bootstrap, gamma=g, lam=lam)
    # env 0: the episode ends at t=1, so t=1 neither bootstraps nor adds later advantages
    d2 = 2 + g * 10 - 3.0  # 8.0
    d1 = 0 - 1.0  # -1.0
    d0 = 1 + g * 1.0 - 0.5  # 1.4
    a0 = [d0 + g * lam * d1, d1, d2]
    # env 1: no end
    e2 = 0 + g * 5 - 0.0
    e1 = 1 + g * 0.0 - 2.0
    e0 = 0 + g * 2.0 - 1.0
    a1_2 = e2
    a1_1 = e1 + g * lam * a1_2
    a1_0 = e0 + g * lam * a1_1
    assert adv[:, 0].tolist() == pytest.approx(a0)
    assert adv[:, 1].tolist() == pytest.approx([a1_0, a1_1, a1_2])
    assert torch.allclose(ret, adv + values)


def test_gae_with_lambda_one_gives_the_nstep_returns() -> None:
    gen = torch.Generator().manual_seed(0)
    rewards = torch.randn(6, 3, generator=gen)
    values = torch.randn(6, 3, generator=gen)
    dones = (torch.rand(6, 3, generator=gen) < 0.3).float()
    bootstrap = torch.randn(3, generator=gen)
    _, ret = gae(rewards, values, dones, bootstrap, gamma=0.99, lam=1.0)
    assert torch.allclose(ret, nstep_returns(rewards, dones, bootstrap, 0.99), atol=1e-5)


def test_gae_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="bootstrap"):
        gae(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3), gamma=1, lam=1)


def test_ppo_loss_by_hand() -> None:
    # pi(a=1) = 3/4 now; the old policies gave it 1/2 and 7/8: ratios 1.5 and 6/7
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, math.log(3.0)]], requires_grad=True)
    actions = torch.tensor([1, 1])
    old = torch.log(torch.tensor([0.5, 7 / 8]))
    adv = torch.tensor([2.0, -1.0])
    values = torch.tensor([1.0, 0.0], requires_grad=True)
    old_values = torch.tensor([0.5, 0.0])
    returns = torch.tensor([2.0, 1.0])
    eps = 0.1
    loss = ppo_loss(logits, values, actions, old, old_values, adv, returns,
                    clip=eps, value_coef=0.25, entropy_coef=0.01)  # fmt: skip
    # sample 0: A > 0, ratio 1.5 > 1.1: the clipped term wins, -1.1 * 2
    # sample 1: A < 0, ratio 0.857 < 0.9: max(0.857, 0.9) * 1 -> the clipped 0.9
    assert loss.policy.item() == pytest.approx((-1.1 * 2 + 0.9 * 1) / 2)
    # values: 1.0 is clipped to 0.6 (error 1.96 > 1.0); 0.0 is not moved (error 1.0)
    assert loss.value.item() == pytest.approx((max(1.0, 1.4**2) + 1.0) / 2)
    neg_entropy = 0.25 * math.log(0.25) + 0.75 * math.log(0.75)
    assert loss.entropy.item() == pytest.approx(neg_entropy)
    total = (-2.2 + 0.9) / 2 + 0.25 * (1.96 + 1.0) / 2 + 0.01 * neg_entropy
    assert loss.total.item() == pytest.approx(total)
    assert loss.clip_fraction.item() == pytest.approx(1.0)


def test_clipped_samples_give_no_policy_gradient() -> None:
    logits = torch.tensor([[0.0, math.log(3.0)]], requires_grad=True)
    loss = ppo_loss(logits, torch.zeros(1), torch.tensor([1]), torch.log(torch.tensor([0.5])),
                    torch.zeros(1), torch.tensor([2.0]), torch.zeros(1),
                    clip=0.1, value_coef=0.0, entropy_coef=0.0)  # fmt: skip
    loss.total.backward()
    assert torch.count_nonzero(logits.grad) == 0
    inside = torch.tensor([[0.0, math.log(3.0)]], requires_grad=True)
    loss = ppo_loss(inside, torch.zeros(1), torch.tensor([1]), torch.log(torch.tensor([0.74])),
                    torch.zeros(1), torch.tensor([2.0]), torch.zeros(1),
                    clip=0.1, value_coef=0.0, entropy_coef=0.0)  # fmt: skip
    loss.total.backward()
    assert inside.grad[0, 1] < 0  # descending the loss raises the advantaged action's logit


def test_cosine_schedule() -> None:
    assert cosine_lr(0, lr=2.5e-4, total_steps=100) == pytest.approx(2.5e-4)
    assert cosine_lr(50, lr=2.5e-4, total_steps=100) == pytest.approx(1.25e-4)
    assert cosine_lr(100, lr=2.5e-4, total_steps=100) == pytest.approx(0.0)
    constant = PPOConfig(lr_schedule="constant")
    assert learning_rate(constant, 9_000_000) == 2.5e-4


# --- config ---------------------------------------------------------------------------------


def test_defaults_are_the_papers() -> None:
    cfg = PPOConfig()
    assert (cfg.num_envs, cfg.rollout_length, cfg.clip, cfg.value_coef) == (8, 128, 0.1, 0.25)
    assert (cfg.gae_lambda, cfg.gamma, cfg.entropy_coef, cfg.lr) == (0.95, 0.99, 0.01, 2.5e-4)
    assert (cfg.total_steps, cfg.lr_schedule, cfg.max_grad_norm) == (10_000_000, "cosine", 0.5)
    assert (cfg.epochs, cfg.minibatches, cfg.minibatch_size) == (4, 4, 256)
    procgen = PPOConfig.procgen("Starpilot")
    assert (procgen.num_envs, procgen.rollout_length, procgen.epochs) == (64, 256, 3)
    assert (procgen.minibatches, procgen.gamma, procgen.lr) == (8, 0.999, 5e-4)
    assert (procgen.env, procgen.model, procgen.lr_schedule) == ("procgen", "impala_cnn",
                                                                 "constant")  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"minibatches": 3}, "equal minibatches"),
        ({"clip": 0.0}, "clip"),
        ({"gae_lambda": 1.5}, "gae_lambda"),
        ({"lr_schedule": "linear"}, "lr_schedule"),
        ({"env": "mujoco"}, "env"),
        ({"arch_index": 3}, "needs the search space"),
        ({"space": 1, "arch_index": 25}, "not in search space 1"),
        ({"space": 3, "arch_index": 0}, "unknown one-shot search space"),
        ({"epochs": 0}, "positive integer"),
    ],
)
def test_bad_configs_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PPOConfig(**changes)


# --- tiny runs on real Breakout -------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ppo") / "run"
    result = train_ppo(PPOConfig(**SMALL), path, progress=False)
    assert result.completed and result.steps == 256
    return path


def test_run_folder_layout(reference_run: Path) -> None:
    for name in ("config.json", "env.json", "metrics.csv", "evals.csv", "result.json",
                 "checkpoints/latest.pt", "checkpoints/best.pt"):  # fmt: skip
        assert (reference_run / name).exists(), name
    assert json.loads((reference_run / "config.json").read_text())["arch_index"] == 17
    metrics = pd.read_csv(reference_run / "metrics.csv")
    assert list(metrics["step"]) == [64, 128, 192, 256]
    assert metrics["lr"].is_monotonic_decreasing and metrics["lr"].iloc[0] == pytest.approx(2.5e-4)
    assert {"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"} <= set(metrics)
    assert metrics["entropy"].between(0, math.log(4) + 1e-6).all()
    evals = pd.read_csv(reference_run / "evals.csv")
    assert list(evals["step"]) == [256] and evals.loc[0, "episodes"] == 1


def test_same_seed_same_numbers_and_exact_resume(reference_run: Path, tmp_path: Path) -> None:
    path = tmp_path / "resumed"
    first = train_ppo(PPOConfig(**SMALL), path, progress=False, stop_after_segments=1)
    assert not first.completed and first.steps == 128
    assert not (path / "result.json").exists()
    second = train_ppo(PPOConfig(**SMALL), path, progress=False)
    assert second.completed
    assert same_weights(run_weights(reference_run), run_weights(path))
    pd.testing.assert_frame_equal(
        pd.read_csv(reference_run / "metrics.csv").drop(columns="steps_per_s"),
        pd.read_csv(path / "metrics.csv").drop(columns="steps_per_s"),
    )
    pd.testing.assert_frame_equal(
        pd.read_csv(reference_run / "evals.csv"), pd.read_csv(path / "evals.csv")
    )


def test_other_seed_other_weights(reference_run: Path, tmp_path: Path) -> None:
    cfg = PPOConfig(**{**SMALL, "seed": 1, "total_steps": 128, "eval_interval": 10_000})
    train_ppo(cfg, tmp_path / "s1", progress=False)
    assert not same_weights(run_weights(reference_run), run_weights(tmp_path / "s1"))


def test_registered_backbone_and_divergence(tmp_path: Path) -> None:
    cfg = PPOConfig(**{**SMALL, "model": "vanilla", "space": None, "arch_index": None,
                       "lr": 1e30, "max_grad_norm": 1e30, "total_steps": 128})  # fmt: skip
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        train_ppo(cfg, tmp_path / "nan", progress=False)
    failure = json.loads((tmp_path / "nan" / "failure.json").read_text())
    assert failure["step"] >= 0 and failure["last_checkpoint_step"] == 0


def test_procgen_preset_trains_an_impala_cnn(tmp_path: Path) -> None:
    pytest.importorskip("envpool")
    cfg = PPOConfig.procgen("Starpilot", num_envs=2, rollout_length=16, epochs=1, minibatches=2,
                            total_steps=64, checkpoint_interval=64, log_interval=32)  # fmt: skip
    try:
        result = train_ppo(cfg, tmp_path / "procgen", progress=False)
    except RuntimeError as exc:  # envpool's Procgen needs the Qt 5 runtime (SPEC §1)
        pytest.skip(str(exc))
    assert result.completed and not (tmp_path / "procgen" / "evals.csv").exists()
    state = load_checkpoint_file(tmp_path / "procgen" / "checkpoints" / "latest.pt")
    assert state["num_actions"] == 15 and "backbone.fc.2.weight" in state["model"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_run_trains_on_the_gpu_and_resumes_on_the_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gpu"
    monkeypatch.setenv("WORKBENCH_DEVICE", "cuda")
    first = train_ppo(PPOConfig(**SMALL), path, progress=False, stop_after_segments=1)
    assert first.steps == 128 and json.loads((path / "env.json").read_text())["device"] == "cuda"
    monkeypatch.setenv("WORKBENCH_DEVICE", "cpu")
    assert train_ppo(PPOConfig(**SMALL), path, progress=False).completed
    assert all(torch.isfinite(t).all() for t in run_weights(path).values())
