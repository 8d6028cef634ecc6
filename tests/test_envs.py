"""Tests of workbench.envs on real ALE games, both backends, plus Procgen and the fake env."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from workbench.envs import (
    EpisodicLife,
    FakeImageEnv,
    VecEnv,
    available_backends,
    list_games,
    list_procgen_games,
    make_atari_env,
    make_fake_env,
    make_procgen_env,
)
from workbench.names import UnknownNameError

BACKENDS = [
    "gymnasium",
    pytest.param(
        "envpool",
        marks=pytest.mark.skipif(
            "envpool" not in available_backends(), reason="envpool is not installed"
        ),
    ),
]
INFO_DTYPES = {
    "final_obs": np.uint8,
    "game_over": np.bool_,
    "episode_return": np.float64,
    "episode_length": np.int64,
    "raw_reward": np.float32,
    "lives": np.int64,
}


@dataclass
class Rollout:
    """What a random-policy rollout saw, checked against independently recomputed game totals."""

    games: list[dict[str, float]] = field(default_factory=list)  # one per finished game
    dones: list[dict[str, Any]] = field(default_factory=list)  # one per env per done step
    rewards: set[float] = field(default_factory=set)
    raw_rewards: set[float] = field(default_factory=set)
    steps: int = 0


def rollout(env: VecEnv, min_games: int, max_steps: int = 3000, seed: int = 0) -> Rollout:
    """Play random actions until `min_games` games ended, recording every done step."""
    rng = np.random.default_rng(seed)
    out = Rollout()
    raw_sum = np.zeros(env.num_envs)
    length = np.zeros(env.num_envs, dtype=int)
    rewarded = np.zeros(env.num_envs, dtype=int)
    env.reset()
    while len(out.games) < min_games and out.steps < max_steps:
        obs, rew, term, trunc, infos = env.step(rng.integers(0, env.num_actions, env.num_envs))
        out.steps += 1
        out.rewards.update(rew.tolist())
        out.raw_rewards.update(infos["raw_reward"].tolist())
        raw_sum += infos["raw_reward"]
        length += 1
        rewarded += infos["raw_reward"] != 0
        for i in np.flatnonzero(term | trunc):
            final = infos["final_obs"][i]
            out.dones.append(
                dict(
                    terminated=bool(term[i]),
                    truncated=bool(trunc[i]),
                    game_over=bool(infos["game_over"][i]),
                    lives=int(infos["lives"][i]),
                    obs_is_reset=not np.array_equal(obs[i], final),
                    kept_history=any(np.array_equal(final[-1], frame) for frame in obs[i][:-1]),
                )
            )
        for i in np.flatnonzero(infos["game_over"]):
            out.games.append(
                dict(
                    episode_return=float(infos["episode_return"][i]),
                    episode_length=int(infos["episode_length"][i]),
                    raw_sum=float(raw_sum[i]),
                    length=int(length[i]),
                    rewarded_steps=int(rewarded[i]),
                )
            )
            raw_sum[i], length[i], rewarded[i] = 0.0, 0, 0
        assert np.isnan(infos["episode_return"][~infos["game_over"]]).all()
        assert (infos["episode_length"][~infos["game_over"]] == 0).all()
    assert len(out.games) >= min_games, f"only {len(out.games)} games ended in {out.steps} steps"
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def eval_invaders(request: pytest.FixtureRequest) -> tuple[str, Rollout]:
    """Whole games of SpaceInvaders in eval mode (raw rewards, no episodic life)."""
    with make_atari_env("SpaceInvaders", 4, mode="eval", backend=request.param, seed=1) as env:
        return request.param, rollout(env, min_games=4)


@pytest.fixture(scope="module", params=BACKENDS)
def train_invaders(request: pytest.FixtureRequest) -> tuple[str, Rollout]:
    """SpaceInvaders (3 lives) in train mode: episodic life and clipped rewards."""
    with make_atari_env("SpaceInvaders", 4, mode="train", backend=request.param, seed=2) as env:
        return request.param, rollout(env, min_games=2)


# --- Atari: shapes, dtypes, infos --------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_atari_shapes_and_dtypes(backend: str) -> None:
    with make_atari_env("Breakout", 3, backend=backend) as env:
        assert (env.num_envs, env.observation_shape, env.num_actions) == (3, (4, 84, 84), 4)
        assert (env.backend, env.game, env.mode) == (backend, "Breakout", "train")
        obs = env.reset()
        assert obs.shape == (3, 4, 84, 84) and obs.dtype == np.uint8
        obs, rew, term, trunc, infos = env.step(np.array([1, 2, 3]))
        assert obs.shape == (3, 4, 84, 84) and obs.dtype == np.uint8
        assert rew.dtype == np.float32 and rew.shape == (3,)
        assert term.dtype == np.bool_ and trunc.dtype == np.bool_ and term.shape == (3,)
        assert {k: v.dtype for k, v in infos.items()} == INFO_DTYPES
        assert infos["final_obs"].shape == (3, 4, 84, 84)
        assert all(infos[k].shape == (3,) for k in INFO_DTYPES if k != "final_obs")
        assert (infos["lives"] == 5).all()


def test_backends_have_identical_infos_and_gymnasium_sync_equals_async() -> None:
    backends = [b for b in ("gymnasium", "envpool") if b in available_backends()]
    kinds = {}
    for backend in backends:
        for vectorization in ("sync", "async"):
            kw = dict(backend=backend, mode="eval", vectorization=vectorization, seed=3)
            with make_atari_env("Pong", 2, **kw) as env:
                obs = [env.reset()] + [env.step(np.array([2, 3]))[0] for _ in range(20)]
                infos = env.step(np.array([0, 0]))[4]
            kinds[backend, vectorization] = {k: (v.dtype, v.shape) for k, v in infos.items()}
            if backend == "gymnasium":
                if vectorization == "sync":
                    sync_obs = obs
                else:
                    np.testing.assert_array_equal(np.stack(sync_obs), np.stack(obs))
    assert len({str(sorted(kind.items())) for kind in kinds.values()}) == 1


def test_bad_arguments_say_what_is_valid() -> None:
    with pytest.raises(UnknownNameError, match="Breakout"):
        make_atari_env("Breakot")
    with pytest.raises(ValueError, match="num_envs"):
        make_atari_env("Pong", 0)
    with pytest.raises(ValueError, match="'train', 'eval'"):
        make_atari_env("Pong", mode="test")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'auto', 'gymnasium', 'envpool'"):
        make_atari_env("Pong", backend="cuda")  # type: ignore[arg-type]


def test_missing_envpool_explains_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "envpool", None)  # makes `import envpool` fail
    assert available_backends() == ["gymnasium"]
    with pytest.raises(ImportError, match="pip install"):
        make_atari_env("Pong", 1, backend="envpool")
    with make_atari_env("Pong", 1, backend="auto", vectorization="sync") as env:
        assert env.backend == "gymnasium"


def test_list_games_comes_from_the_rom_list() -> None:
    games = list_games()
    assert {"Breakout", "Pong", "SpaceInvaders", "MontezumaRevenge"} <= set(games)
    assert len(games) > 100 and games == sorted(games)


# --- Atari: semantics, identical on both backends ----------------------------------------------


def test_eval_statistics_are_whole_games_of_raw_rewards(eval_invaders) -> None:
    _, out = eval_invaders
    for game in out.games:
        assert game["episode_return"] == game["raw_sum"]
        assert game["episode_length"] == game["length"]
    for done in out.dones:
        assert done["game_over"] == (done["terminated"] or done["truncated"])


def test_eval_returns_raw_scores(eval_invaders) -> None:
    _, out = eval_invaders
    assert max(out.rewards) > 1 and out.rewards == out.raw_rewards
    for game in out.games:  # aliens are worth 5..30 points each
        assert game["episode_return"] > game["rewarded_steps"] > 0


def test_random_scores_agree_across_backends(eval_invaders) -> None:
    backend, out = eval_invaders
    scores = [game["episode_return"] for game in out.games]
    # random play scores ~150 (DQN paper: 148); both backends must land in the same range
    assert 30 <= np.median(scores) <= 600, (backend, scores)
    lengths = [game["episode_length"] for game in out.games]
    assert 150 <= np.median(lengths) <= 2000, (backend, lengths)


def test_same_step_autoreset(eval_invaders) -> None:
    _, out = eval_invaders
    assert out.dones and all(done["obs_is_reset"] for done in out.dones)


def test_train_clips_rewards_but_not_raw_reward(train_invaders) -> None:
    _, out = train_invaders
    assert out.rewards <= {-1.0, 0.0, 1.0} and 1.0 in out.rewards
    assert max(out.raw_rewards) > 1


def test_train_episodic_life(train_invaders) -> None:
    _, out = train_invaders
    life_losses = [d for d in out.dones if d["terminated"] and not d["game_over"]]
    assert life_losses and all(d["lives"] > 0 for d in life_losses)
    # the game goes on after a life loss: same frame history, and no reset to full lives
    assert all(d["kept_history"] for d in life_losses)
    for done in out.dones:
        if done["game_over"]:
            assert done["truncated"] or done["lives"] == 0
    for game in out.games:  # statistics still cover the whole game
        assert game["episode_return"] == game["raw_sum"]
        assert game["episode_length"] == game["length"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_game_without_lives_reports_zero_lives(backend: str) -> None:
    with make_atari_env("Pong", 2, mode="train", backend=backend) as env:
        out = rollout(env, min_games=1)
    assert all(d["lives"] == 0 and d["game_over"] for d in out.dones)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fire_after_life_loss_relaunches_breakout(backend: str) -> None:
    with make_atari_env("Breakout", 2, mode="train", backend=backend, noop_max=0) as env:
        env.reset()
        terminations = sum(env.step(np.zeros(2, int))[2].sum() for _ in range(150))
    assert terminations >= 4  # a NOOP-only agent still loses lives: the ball was fired each time


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_observations(backend: str) -> None:
    actions = np.random.default_rng(0).integers(0, 4, (40, 2))

    def observations(env: VecEnv, seed: int) -> np.ndarray:
        return np.stack([env.reset(seed=seed)] + [env.step(a)[0] for a in actions])

    with make_atari_env("Breakout", 2, backend=backend, seed=5) as env:
        first = np.stack([env.reset()] + [env.step(a)[0] for a in actions])
        again = observations(env, seed=5)
        other = observations(env, seed=6)
    with make_atari_env("Breakout", 2, backend=backend, seed=5) as env:
        fresh = observations(env, seed=5)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, fresh)
    assert not np.array_equal(first, other)


# --- Procgen -------------------------------------------------------------------------------------


@pytest.mark.skipif("envpool" not in available_backends(), reason="envpool is not installed")
def test_procgen_starpilot() -> None:
    try:
        env = make_procgen_env("Starpilot", 4)
    except RuntimeError as err:
        pytest.skip(f"Procgen unavailable (Qt 5 runtime missing): {err}")
    with env:
        assert (env.observation_shape, env.num_actions, env.game) == ((3, 64, 64), 15, "Starpilot")
        obs = env.reset()
        assert obs.shape == (4, 3, 64, 64) and obs.dtype == np.uint8
        for _ in range(5):
            obs, rew, term, trunc, infos = env.step(np.arange(4))
        assert {k: v.dtype for k, v in infos.items()} == INFO_DTYPES
        assert (infos["lives"] == 0).all()
        np.testing.assert_array_equal(infos["raw_reward"], rew)
    assert "Starpilot" in list_procgen_games() and len(list_procgen_games()) == 16
    with make_procgen_env("StarpilotHard", 1) as env:
        assert env.reset().shape == (1, 3, 64, 64)
    with pytest.raises(UnknownNameError, match="Starpilot"):
        make_procgen_env("Starpilt")


# --- Fake env and the wrappers on their own ----------------------------------------------------


def test_fake_env() -> None:
    with make_fake_env(3, obs_shape=(2, 8, 8), num_actions=3, episode_length=5, seed=1) as env:
        assert (env.game, env.backend, env.observation_shape, env.num_actions) == (
            "Fake",
            "fake",
            (2, 8, 8),
            3,
        )
        obs = env.reset()
        assert obs.shape == (3, 2, 8, 8) and obs.dtype == np.uint8
        for t in range(5):
            target = t % 3
            actions = np.array([target, target, (target + 1) % 3])  # env 2 always misses
            obs, rew, term, trunc, infos = env.step(actions)
            np.testing.assert_array_equal(rew, [1.0, 1.0, 0.0])
            assert term.all() == (t == 4) and not trunc.any()
        assert infos["game_over"].all() and (infos["lives"] == 0).all()
        np.testing.assert_array_equal(infos["episode_return"], [5.0, 5.0, 0.0])
        np.testing.assert_array_equal(infos["episode_length"], [5, 5, 5])
        assert infos["final_obs"].mean() > obs.mean() + 100  # brightness encodes the step
    with make_fake_env(3, seed=1) as a, make_fake_env(3, seed=1) as b:
        np.testing.assert_array_equal(a.reset(), b.reset())


class _LivesEnv(gym.Env):
    """2 lives, one lost every 2 steps; counts emulator resets."""

    observation_space = gym.spaces.Discrete(100)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.resets, self.t = 0, 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[int, dict]:
        self.resets, self.t = self.resets + 1, 0
        return 0, {"lives": 2}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        self.t += 1
        lives = 2 - self.t // 2
        return self.t, 1.0, lives == 0, False, {"lives": lives}


def test_episodic_life_only_resets_the_emulator_at_game_over() -> None:
    inner = _LivesEnv()
    env = EpisodicLife(inner)
    env.reset()
    env.step(0)
    _, _, terminated, _, info = env.step(0)  # life lost
    assert terminated and not info["game_over"]
    obs, _ = env.reset()
    assert inner.resets == 1 and obs == 3  # continued with a no-op step
    _, _, terminated, _, info = env.step(0)
    assert terminated and info["game_over"]
    env.reset()
    assert inner.resets == 2


def test_fake_image_env_is_a_plain_gymnasium_env() -> None:
    env = FakeImageEnv((1, 4, 4), num_actions=2, episode_length=3)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert env.step(env.target_action())[1] == 1.0
