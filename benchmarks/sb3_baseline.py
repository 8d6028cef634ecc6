"""Stable-Baselines3's A2C and PPO with this workbench's settings, for side-by-side checks."""

from __future__ import annotations

from collections.abc import Callable

from stable_baselines3 import A2C, PPO
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import VecEnv, VecFrameStack

from workbench.rl.ppo import cosine_lr
from workbench.rl.schedules import a2d_learning_rate

GAME, NUM_ENVS, ROLLOUT = "Breakout", 16, 5


def make_sb3_env(seed: int, game: str = GAME, num_envs: int = NUM_ENVS) -> VecEnv:
    """SB3's Atari stack (Monitor, AtariWrapper: no-ops, skip 4, episodic life, fire, clip) x 4."""
    import ale_py
    import gymnasium as gym

    gym.register_envs(ale_py)
    env_kwargs = {"frameskip": 1, "repeat_action_probability": 0.0}
    return VecFrameStack(
        make_atari_env(f"ALE/{game}-v5", n_envs=num_envs, seed=seed, env_kwargs=env_kwargs), 4
    )


Clock = Callable[[], int]
"""Agent steps done so far (the model's own count): schedules read it instead of SB3's progress,
which restarts with every `learn` call, so a run trained in segments keeps one schedule."""


def a2c_lr(total_steps: int, clock: Clock) -> Callable[[float], float]:
    """The A2D schedule (lr 1e-3 for a third of the budget, then linear to 1e-4) on `clock`."""

    def lr(_progress_remaining: float) -> float:
        return a2d_learning_rate(
            clock(), lr=1e-3, lr_final=1e-4, constant_steps=total_steps // 3,
            total_steps=total_steps,
        )  # fmt: skip

    return lr


def ppo_lr(total_steps: int, clock: Clock) -> Callable[[float], float]:
    """Adam 2.5e-4 cosine-annealed to 0 over `total_steps` (workbench.rl.ppo.cosine_lr)."""

    def lr(_progress_remaining: float) -> float:
        return cosine_lr(clock(), lr=2.5e-4, total_steps=total_steps)

    return lr


def use_schedule(
    agent: A2C | PPO, schedule: Callable[[int, Clock], Callable[[float], float]], total_steps: int
) -> A2C | PPO:
    """Give `agent` the lr `schedule(total_steps, clock)` on its own step count (fresh, loaded)."""
    agent.learning_rate = schedule(total_steps, lambda: agent.num_timesteps)
    agent._setup_lr_schedule()
    return agent


def make_sb3_a2c(
    env: VecEnv, seed: int, total_steps: int | None = None, device: str = "cpu"
) -> A2C:
    """A2C with rollout 5, gamma 0.99, entropy 1e-2, 1/2-MSE value loss (vf_coef 0.5 on SB3's
    plain MSE), RMSProp eps 1e-5, grad clip 0.5; the A2D lr schedule when total_steps is given;
    `device`: where its networks run (as the workbench's $WORKBENCH_DEVICE)."""
    agent = A2C(
        "CnnPolicy",
        env,
        n_steps=ROLLOUT,
        gamma=0.99,
        ent_coef=0.01,
        vf_coef=0.5,
        learning_rate=1e-3,
        max_grad_norm=0.5,
        gae_lambda=1.0,
        rms_prop_eps=1e-5,
        seed=seed,
        device=device,
        verbose=0,
    )
    return agent if total_steps is None else use_schedule(agent, a2c_lr, total_steps)


def make_sb3_ppo(env: VecEnv, seed: int, total_steps: int) -> PPO:
    """PPO as the workbench's Atari PPOConfig: 8 envs x 128 steps, 4 epochs of 4 minibatches
    (256 frames), gamma 0.99, GAE 0.95, clip 0.1 (value prediction clipped by 0.1 too), value
    coef 0.25 on the MSE, entropy 0.01, Adam 2.5e-4 (eps 1e-5) cosine-annealed to 0 over
    `total_steps`, grad clip 0.5, advantages normalised per minibatch."""
    agent = PPO(
        "CnnPolicy",
        env,
        n_steps=128,
        batch_size=256,
        n_epochs=4,
        gamma=0.99,
        gae_lambda=0.95,
        clip_range=0.1,
        clip_range_vf=0.1,
        ent_coef=0.01,
        vf_coef=0.25,
        learning_rate=2.5e-4,
        max_grad_norm=0.5,
        normalize_advantage=True,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    return use_schedule(agent, ppo_lr, total_steps)
