"""Paper numbers kept as data: normalisation table and A2D tables."""

from __future__ import annotations

import pytest

from workbench import papers
from workbench.envs import list_games
from workbench.names import UnknownNameError


def test_human_normalized_score_endpoints() -> None:
    assert papers.human_normalized_score("Breakout", 1.7) == pytest.approx(0.0)
    assert papers.human_normalized_score("Breakout", 30.5) == pytest.approx(1.0)
    assert papers.human_normalized_score("Pong", -20.7 + 0.5 * (14.6 + 20.7)) == pytest.approx(0.5)


def test_unknown_game_is_a_clear_error() -> None:
    with pytest.raises(UnknownNameError, match="Breakout"):
        papers.human_normalized_score("Breakot", 3.0)


def test_tables_name_real_games() -> None:
    games = set(list_games())
    assert len(papers.ATARI_RANDOM_SCORES) == 57 and len(papers.ATARI_HUMAN_SCORES) == 55
    assert set(papers.ATARI_RANDOM_SCORES) <= games
    assert set(papers.A2D_TABLE1_GAMES) == set(papers.A2D_TABLE1_BEST_SCORES) <= games
