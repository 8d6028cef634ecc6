"""Budget presets shared by every notebook: smoke (CI), laptop (CPU-hours per study), paper."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from workbench.config import RunConfig, SearchConfig
from workbench.names import check_name
from workbench.papers import A2D_TABLE1_GAMES, RLDARTS_TABLE5A_PPO_CLASSIC


@dataclass(frozen=True)
class Preset:
    """A named budget. Steps are agent steps (one step = 4 emulator frames)."""

    name: str
    description: str
    train_steps: int
    games: tuple[str, ...]
    seeds: tuple[int, ...]
    eval_episodes: int
    eval_interval: int
    checkpoint_interval: int
    studies: dict[str, dict] = field(default_factory=dict)
    """Per-study budget overrides, e.g. {"distillation": {"train_steps": 500_000}}."""
    arms: tuple[str, ...] = ()
    """A study's arms where its budget forces a cheaper variant; empty: the notebook's own."""

    def for_study(self, study: str) -> Preset:
        """This preset with the study's overrides applied (itself when there are none)."""
        return replace(self, studies={}, **self.studies.get(study, {}))

    def __post_init__(self) -> None:
        counts = (
            self.train_steps,
            self.eval_episodes,
            self.eval_interval,
            self.checkpoint_interval,
        )
        if min(counts) < 1 or not self.games or not self.seeds:
            raise ValueError(
                f"preset {self.name!r}: steps, episodes, games and seeds must be non-empty"
            )

    def caption(
        self, games: tuple[str, ...] | None = None, seeds: tuple[int, ...] | None = None
    ) -> str:
        """One line with the budget, games and seeds, for every figure title and caption."""
        games = games or self.games
        seeds = seeds or self.seeds
        return (
            f"preset={self.name}: {self.train_steps:,} agent steps (4 frames each) per run; "
            f"games: {', '.join(games)}; seeds: {', '.join(map(str, seeds))}; test score: "
            f"{self.eval_episodes} games every {self.eval_interval:,} steps"
        )


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "smoke",
            "minutes on a laptop CPU; what CI runs",
            2_000,
            ("Breakout",),
            (0,),
            eval_episodes=3,
            eval_interval=1_000,
            checkpoint_interval=2_000,
            studies={
                # a soft supernet runs every op of 14 cells: about 20 steps/s on 2 cores
                "search": {"train_steps": 160, "eval_interval": 80, "checkpoint_interval": 160},
                "oneshot": {
                    "train_steps": 1_024,
                    "eval_episodes": 2,
                    "eval_interval": 1_024,
                    "checkpoint_interval": 1_024,
                },
                # RL-DARTS: 2 PPO updates of 4 envs x 16 steps per run on Dodgeball (Fig. 3's
                # game; its random-play games last about 30 steps, so some finish)
                "darts": {
                    "train_steps": 128,
                    "games": ("Dodgeball",),
                    "checkpoint_interval": 128,
                },
            },
        ),
        Preset(
            "laptop",
            "CPU-hours on a 2-core machine; each study sets its own budget",
            200_000,
            ("Breakout", "Pong"),
            (0,),
            eval_episodes=10,
            eval_interval=25_000,
            checkpoint_interval=100_000,
            studies={
                # A2D Tab. 2 on one game: 4 arms x 2 seeds of a vanilla student (measured: 17 min
                # per run without a teacher, 35 min with one: about 4 CPU-hours)
                "distillation": {
                    "train_steps": 500_000,
                    "games": ("Breakout",),
                    "seeds": (0, 1),
                    "eval_interval": 50_000,
                },
                # notebooks 04 and 05 retrain searched agents beside the backbones: one seed of
                # 1e5 steps each (resnet20 with a teacher runs at about 80 steps/s); its own name
                # keeps these runs apart from the 5e5-step distillation runs
                "retrain": {
                    "name": "laptop-retrain",
                    "train_steps": 100_000,
                    "games": ("Breakout",),
                    "eval_interval": 25_000,
                    "checkpoint_interval": 25_000,
                },
                # three searches of 3e4 steps with the soft supernet (measured: 40 min without a
                # teacher, 50 with one, 64 for first-order bi-level). Bi-level is first order: a
                # second-order update measured 3.1x a first-order one (search_overhead_bilevel.md),
                # about 3.3 CPU-hours here.
                "search": {
                    "train_steps": 30_000,
                    "games": ("Breakout",),
                    "eval_interval": 5_000,
                    "checkpoint_interval": 10_000,
                    "arms": ("vanilla-dnas", "one-level", "bi-level-first-order"),
                },
                # the tabular benchmark of space 1 (25 archs) and its SPOS and ENAS searches.
                # At 2e4 steps the policies stayed near uniform (entropy 1.24-1.39 of ln 4 =
                # 1.39; 5-episode test means 1.0-3.4). At 1e5 a run took 12-20 min on one of
                # two 1-thread lanes (attempts.jsonl of a0-a9, a14, a15): about 3 h for the 25.
                # A SPOS search of 1e5 steps took 17 min on 1 thread beside the two lanes; on an
                # H200 (WORKBENCH_DEVICE=cuda, gymnasium envs) 3 min, its 25 x 10 test games 2 min
                "oneshot": {
                    "train_steps": 100_000,
                    "games": ("Breakout",),
                    "eval_episodes": 10,
                    "eval_interval": 100_000,
                    "checkpoint_interval": 20_000,
                },
                # RL-DARTS on Dodgeball: 30 PPO updates per run; supernet 16x3, cells evaluated
                # at 32x3 (measured, 1 thread each, two runs at once: supernet about 9 steps/s,
                # a 32x3 cell 27, IMPALA-CNN 72; about 100 min for the study on two lanes)
                "darts": {
                    "train_steps": 30_720,
                    "games": ("Dodgeball",),
                    "checkpoint_interval": 10_240,
                },
            },
        ),
        Preset(
            "paper",
            "the papers' budgets (A2D: 3e7 steps, the 15 games of Tab. 1); for a GPU "
            "machine or a Ray cluster",
            30_000_000,
            A2D_TABLE1_GAMES,
            (0,),
            eval_episodes=30,
            eval_interval=1_000_000,
            checkpoint_interval=1_000_000,
            studies={
                "search": {"train_steps": 20_000_000},  # A2D Sec. 4.4
                "oneshot": {
                    "train_steps": 10_000_000,
                    "games": ("Breakout", "Freeway"),
                    "seeds": (0, 1, 2, 3),
                },  # Mazyavkina et al.
                "darts": {
                    "train_steps": 25_000_000,
                    "games": tuple(RLDARTS_TABLE5A_PPO_CLASSIC),
                    "seeds": (0, 1, 2),
                },  # RL-DARTS Sec. 4.4, App. D
            },
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called `name` (smoke, laptop or paper)."""
    return PRESETS[check_name(name, PRESETS, "preset")]


Config = TypeVar("Config", bound=RunConfig)


def preset_config(preset: Preset, config_class: type[Config], **fields: Any) -> Config:
    """A config of `config_class` at the preset's budget: the one place a preset turns into a
    config, for the notebooks (workbench.experiments.training_grid) and the sweeps' grids
    (workbench.experiments.grid) alike, so that both name the same runs.

    The budget: `train_steps` agent steps, a test of `eval_episodes` games every
    `eval_interval` steps, a checkpoint every `checkpoint_interval`, a metrics row every 1e4
    steps (or once for a shorter run); a search logs alpha 20 times. `fields` (game, model,
    seed, tag, arm fields, overrides) take precedence.
    """
    budget: dict[str, Any] = {
        "total_steps": preset.train_steps,
        "eval_interval": preset.eval_interval,
        "eval_episodes": preset.eval_episodes,
        "checkpoint_interval": preset.checkpoint_interval,
        "log_interval": min(10_000, preset.train_steps),
    }
    if issubclass(config_class, SearchConfig):
        budget["alpha_log_interval"] = max(preset.train_steps // 20, 1)
    return config_class(**{**budget, **fields})
