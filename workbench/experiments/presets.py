"""Budget presets shared by every notebook: smoke (CI), laptop (about an hour), paper."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.names import check_name
from workbench.papers import A2D_TABLE1_GAMES


@dataclass(frozen=True)
class Preset:
    """A named budget. Steps are agent steps (one step = 4 emulator frames)."""

    name: str
    description: str
    train_steps: int
    games: tuple[str, ...]
    seeds: tuple[int, ...]
    eval_episodes: int

    def __post_init__(self) -> None:
        if self.train_steps < 1 or self.eval_episodes < 1 or not self.games or not self.seeds:
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
            f"games: {', '.join(games)}; seeds: {', '.join(map(str, seeds))}"
        )


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("smoke", "minutes on a laptop CPU; what CI runs", 2_000, ("Breakout",), (0,), 3),
        Preset("laptop", "about an hour on a 2-core CPU", 200_000, ("Breakout", "Pong"), (0,), 30),
        Preset("paper", "the papers' budgets; for a GPU machine or a Ray cluster",
               30_000_000, A2D_TABLE1_GAMES, (0,), 30),
    )
}  # fmt: skip


def get_preset(name: str) -> Preset:
    """The preset called `name` (smoke, laptop or paper)."""
    return PRESETS[check_name(name, PRESETS, "preset")]
