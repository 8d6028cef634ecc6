"""Procgen games (16 procedurally generated games, 3x64x64 RGB, 15 actions) via envpool."""

from __future__ import annotations

from typing import Any

from workbench.envs.backends import default_num_threads, import_envpool
from workbench.envs.vector import EnvpoolVecEnv, VecEnv
from workbench.names import check_name

QT_HINT = (
    "envpool's Procgen needs the Qt 5 runtime, which is missing: "
    "install it with `apt-get install libqt5gui5`"
)


def list_procgen_games() -> list[str]:
    """Procgen game names as envpool spells them ("Bigfish", ..., "Starpilot")."""
    return sorted(_procgen_tasks())


def _procgen_tasks() -> dict[str, dict[str, str]]:
    """{game: {distribution: envpool task id}}, e.g. {"Starpilot": {"easy": "StarpilotEasy-v0"}}."""
    import_envpool()
    from envpool.procgen.registration import distribution, procgen_game_config

    return {
        name.capitalize(): {
            distribution[mode].lower(): f"{name.capitalize()}{distribution[mode]}-v0"
            for mode in modes
        }
        for name, _, modes in procgen_game_config
    }


def _split_game(game: str, distribution: str) -> tuple[str, str]:
    """Accept "StarpilotEasy" as well as "Starpilot" + distribution="easy"."""
    for dist in ("Easy", "Hard", "Extreme", "Memory", "Exploration"):
        if game.endswith(dist) and len(game) > len(dist):
            return game[: -len(dist)], dist.lower()
    return game, distribution.lower()


def make_procgen_env(
    game: str,
    num_envs: int = 64,
    *,
    seed: int = 0,
    distribution: str = "easy",
    num_threads: int | None = None,
) -> VecEnv:
    """Make `num_envs` envpool Procgen envs of `game` as one VecEnv (obs (N, 3, 64, 64) uint8).

    Procgen has no lives: lives are 0, game_over equals done and raw_reward equals the reward.
    """
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    game, distribution = _split_game(game, distribution)
    tasks = _procgen_tasks()
    game = check_name(game, tasks, "Procgen game")
    distribution = check_name(distribution, tasks[game], f"{game} distribution")
    task_id = tasks[game][distribution]
    envpool = import_envpool()
    threads = num_threads or default_num_threads(num_envs)

    def make_pool(pool_seed: int) -> Any:
        try:
            return envpool.make(
                task_id,
                env_type="gymnasium",
                num_envs=num_envs,
                seed=pool_seed,
                num_threads=threads,
            )
        except ImportError as err:
            if "Qt" in str(err):
                raise RuntimeError(QT_HINT) from err
            raise

    return EnvpoolVecEnv(make_pool, num_envs=num_envs, game=game, mode="train", seed=seed)
