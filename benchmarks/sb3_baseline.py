"""Stable-Baselines3's A2C set up with this workbench's A2C settings, for side-by-side checks."""

from __future__ import annotations

from stable_baselines3 import A2C
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import VecEnv, VecFrameStack

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


def make_sb3_a2c(env: VecEnv, seed: int, total_steps: int | None = None) -> A2C:
    """A2C with rollout 5, gamma 0.99, entropy 1e-2, 1/2-MSE value loss (vf_coef 0.5 on SB3's
    plain MSE), RMSProp eps 1e-5, grad clip 0.5; the A2D lr schedule when total_steps is given."""
    lr = 1e-3
    if total_steps is not None:
        constant = total_steps // 3

        def lr(progress_remaining: float) -> float:
            step = int((1 - progress_remaining) * total_steps)
            return a2d_learning_rate(
                step, lr=1e-3, lr_final=1e-4, constant_steps=constant, total_steps=total_steps
            )

    return A2C(
        "CnnPolicy",
        env,
        n_steps=ROLLOUT,
        gamma=0.99,
        ent_coef=0.01,
        vf_coef=0.5,
        learning_rate=lr,
        max_grad_norm=0.5,
        gae_lambda=1.0,
        rms_prop_eps=1e-5,
        seed=seed,
        device="cpu",
        verbose=0,
    )
