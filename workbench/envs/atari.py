"""Atari (ALE) environments with the standard DQN preprocessing, on gymnasium or envpool.

Both backends give the same `VecEnv` semantics: frame skip 4 with max-pool over the last two
frames, 84x84 grayscale, a stack of 4 frames, up to `noop_max` no-ops at reset, FIRE after every
reset (life-loss resets too) for games that need it, truncation after `max_episode_steps` agent
steps. mode="train": episodic life and rewards clipped to their sign; mode="eval": whole games,
raw rewards. Frame stacks keep their history across a life loss (only a new game refills them).
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import gymnasium as gym
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

from workbench.envs.backends import available_backends, default_num_threads, import_envpool
from workbench.envs.vector import EnvpoolVecEnv, GymnasiumVecEnv, VecEnv
from workbench.envs.wrappers import EpisodicLife, FireReset
from workbench.names import check_name

MODES = ("train", "eval")
BACKENDS = ("auto", "gymnasium", "envpool")
VECTORIZATIONS = ("sync", "async")
FRAME_SKIP = 4
STACK = 4
SCREEN = 84


@functools.cache
def _register_ale() -> None:
    """Register the ALE/*-v5 ids with gymnasium (once)."""
    import ale_py

    gym.register_envs(ale_py)


def list_games() -> list[str]:
    """Atari game ids in CamelCase ("Breakout", "SpaceInvaders"), from ale_py's ROM list."""
    return list(_game_names())


@functools.cache
def _game_names() -> tuple[str, ...]:
    """ale_py ROM names registered as ALE/<Name>-v5 (i.e. without the multiplayer-only ROMs)."""
    from ale_py.registration import rom_id_to_name
    from ale_py.roms import get_all_rom_ids

    _register_ale()
    names = (rom_id_to_name(rom) for rom in get_all_rom_ids())
    return tuple(sorted(name for name in names if f"ALE/{name}-v5" in gym.registry))


def make_atari_env(
    game: str,
    num_envs: int = 16,
    *,
    mode: Literal["train", "eval"] = "train",
    backend: Literal["auto", "gymnasium", "envpool"] = "auto",
    seed: int = 0,
    sticky_actions: bool = False,
    noop_max: int = 30,
    max_episode_steps: int = 27_000,
    num_threads: int | None = None,
    vectorization: Literal["sync", "async"] = "sync",
) -> VecEnv:
    """Make `num_envs` preprocessed Atari envs of `game` as one VecEnv (obs (N, 4, 84, 84) uint8).

    backend="auto" uses envpool when it is importable (and has the game), else gymnasium.
    `num_threads` sets envpool's worker threads (default: min(num_envs, cpu count)). envpool
    cannot run noop_max=0 and uses 1 instead.
    `vectorization` applies to gymnasium only. "sync" is the default: on the 2-core reference
    machine "async" (one process per env) was at best ~1.15x faster when the machine was idle and
    ~0.8x as fast as soon as anything else (e.g. the learner) used a core
    (benchmarks/env_throughput.py, reports/benchmarks/env_throughput.md).
    """
    check_name(game, _game_names(), "game")
    _check_choice(mode, MODES, "mode")
    _check_choice(backend, BACKENDS, "backend")
    _check_choice(vectorization, VECTORIZATIONS, "vectorization")
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    if noop_max < 0:
        raise ValueError(f"noop_max must be >= 0, got {noop_max}")
    settings = dict(
        game=game,
        num_envs=num_envs,
        mode=mode,
        seed=seed,
        repeat_action_probability=0.25 if sticky_actions else 0.0,
        noop_max=noop_max,
        max_episode_steps=max_episode_steps,
    )
    if backend == "auto":
        usable = "envpool" in available_backends() and _envpool_id(game) is not None
        backend = "envpool" if usable else "gymnasium"
    if backend == "envpool":
        return _make_envpool(**settings, num_threads=num_threads)
    return _make_gymnasium(**settings, vectorization=vectorization)


def _check_choice(value: str, valid: tuple[str, ...], what: str) -> None:
    """Raise ValueError naming the valid values unless `value` is one of them."""
    if value not in valid:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, valid))}; got {value!r}")


def make_gymnasium_atari(
    game: str,
    *,
    mode: str = "train",
    repeat_action_probability: float = 0.0,
    noop_max: int = 30,
    max_episode_steps: int = 27_000,
) -> gym.Env:
    """One preprocessed Atari env as a gymnasium wrapper stack (the gymnasium backend's unit).

    ALE(frameskip=1) -> AtariPreprocessing -> FrameStackObservation(4) -> [EpisodicLife] ->
    [FireReset]. The stack sits below EpisodicLife so a life loss keeps the frame history (as in
    envpool); FireReset sits on top so it also fires after life-loss resets (as envpool, SB3).
    """
    _register_ale()
    env = gym.make(
        f"ALE/{game}-v5",
        frameskip=1,
        repeat_action_probability=repeat_action_probability,
        full_action_space=False,
        max_num_frames_per_episode=max_episode_steps * FRAME_SKIP,
    )
    env = AtariPreprocessing(
        env,
        noop_max=noop_max,
        frame_skip=FRAME_SKIP,
        screen_size=SCREEN,
        grayscale_obs=True,
        terminal_on_life_loss=False,
        scale_obs=False,
    )
    env = FrameStackObservation(env, STACK)
    if mode == "train":
        env = EpisodicLife(env)
    if FireReset.is_needed(env):
        env = FireReset(env)
    return env


def _make_gymnasium(
    *, game: str, num_envs: int, mode: str, seed: int, vectorization: str, **settings: Any
) -> VecEnv:
    """Gymnasium backend: N wrapper stacks in a Sync/AsyncVectorEnv with same-step autoreset."""
    make_one = functools.partial(make_gymnasium_atari, game, mode=mode, **settings)
    vector_cls = gym.vector.AsyncVectorEnv if vectorization == "async" else gym.vector.SyncVectorEnv
    env = vector_cls([make_one] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    return GymnasiumVecEnv(env, game=game, mode=mode, seed=seed, clip_rewards=mode == "train")


def _envpool_id(game: str) -> str | None:
    """envpool's task id for an ALE game name (spellings differ, e.g. TicTacToe3D/TicTacToe3d)."""
    ids = {task.lower(): task for task in import_envpool().list_all_envs()}
    return ids.get(f"{game}-v5".lower())


def _make_envpool(
    *,
    game: str,
    num_envs: int,
    mode: str,
    seed: int,
    num_threads: int | None,
    **settings: Any,
) -> VecEnv:
    """envpool backend: one C++ pool of N envs, same preprocessing, same-step autoreset emulated."""
    envpool = import_envpool()
    task_id = _envpool_id(game)
    if task_id is None:
        raise ValueError(f"envpool has no Atari game {game!r}; use backend='gymnasium'")
    if num_threads is None:
        num_threads = default_num_threads(num_envs)
    # envpool 1.2.5 segfaults with noop_max=0 (it draws from uniform_int(0, noop_max - 1));
    # 1 means at most a single no-op frame, which games that get FIRE at reset skip anyway.
    settings["noop_max"] = max(settings["noop_max"], 1)

    def make_pool(pool_seed: int) -> Any:
        return envpool.make(
            task_id,
            env_type="gymnasium",
            num_envs=num_envs,
            seed=pool_seed,
            episodic_life=mode == "train",
            reward_clip=mode == "train",
            stack_num=STACK,
            img_height=SCREEN,
            img_width=SCREEN,
            gray_scale=True,
            frame_skip=FRAME_SKIP,
            use_fire_reset=True,
            num_threads=num_threads,
            **settings,
        )

    return EnvpoolVecEnv(
        make_pool,
        num_envs=num_envs,
        game=game,
        mode=mode,
        seed=seed,
        episodic_life=mode == "train",
    )
