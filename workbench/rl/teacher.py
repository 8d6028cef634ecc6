"""Frozen teachers for distillation: shipped ones, run folders and checkpoint files.

A teacher is a trained ActorCritic in eval mode with gradients off. Shipped teachers live in
`workbench/teachers/<Game>__<model>/` (teacher.pt with its sha256, the run's config, training
curve and a 30-game test score); `export_teacher` writes that layout from any finished run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from workbench.models import ActorCritic
from workbench.names import check_name
from workbench.runs.folder import CheckpointError, load_checkpoint_file
from workbench.runs.kinds import agent_from_state

TEACHERS_DIR = Path(__file__).resolve().parent.parent / "teachers"
TEACHER_FILE = "teacher.pt"


class TeacherMismatch(ValueError):
    """A teacher that does not fit the student's game or action space."""


@dataclass
class Teacher:
    """A frozen trained agent; calling it gives (logits, values) without gradients."""

    agent: ActorCritic
    game: str
    model: str
    source: str
    step: int

    def __post_init__(self) -> None:
        self.agent.eval().requires_grad_(False)

    @property
    def num_actions(self) -> int:
        return self.agent.actor.out_features

    @torch.no_grad()
    def __call__(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher logits (B, |A|) and values (B,) on the student's observations."""
        logits, values = self.agent(obs)
        if values is None:
            raise TeacherMismatch(f"teacher {self.source} has no critic to distil or reuse")
        return logits, values

    def check_student(self, game: str, num_actions: int) -> None:
        """Raise TeacherMismatch naming both sides unless the student plays the same game."""
        if game != self.game:
            raise TeacherMismatch(
                f"teacher {self.source} was trained on {self.game}, the student plays {game}; "
                f"pick a {game} teacher (shipped: {', '.join(list_teachers()) or 'none'})"
            )
        if num_actions != self.num_actions:
            raise TeacherMismatch(
                f"teacher {self.source} has {self.num_actions} actions, the student's {game} "
                f"env has {num_actions}"
            )


def list_teachers() -> list[str]:
    """Names of the teachers shipped with the package (`<Game>__<model>`)."""
    if not TEACHERS_DIR.is_dir():
        return []
    return sorted(p.parent.name for p in TEACHERS_DIR.glob(f"*/{TEACHER_FILE}"))


def teacher_file(source: str | Path) -> Path:
    """The checkpoint file behind a shipped name, a run folder, a teacher folder or a file."""
    shipped = list_teachers()
    if isinstance(source, str) and source in shipped:
        return TEACHERS_DIR / source / TEACHER_FILE
    path = Path(source)
    if path.is_dir():
        for candidate in (path / TEACHER_FILE, path / "checkpoints" / "latest.pt"):
            if candidate.exists():
                return candidate
        raise CheckpointError(f"{path} holds neither {TEACHER_FILE} nor checkpoints/latest.pt")
    if path.exists():
        return path
    if "/" not in str(source) and not path.suffix:
        check_name(str(source), shipped, "teacher")  # raises with the closest shipped names
    raise CheckpointError(f"teacher {source!r}: no such file or folder")


def load_teacher(
    source: str | Path, *, game: str | None = None, num_actions: int | None = None
) -> Teacher:
    """Load a frozen teacher; with game/num_actions, check that it fits the student."""
    path = teacher_file(source)
    state = load_checkpoint_file(path)
    missing = {"model", "num_actions", "config"} - set(state)
    if missing:
        raise CheckpointError(f"{path} is not an agent checkpoint (missing {sorted(missing)})")
    cfg = state["config"]
    agent = agent_from_state(state)
    teacher = Teacher(agent, cfg["game"], cfg["model"], str(source), int(state.get("step", 0)))
    if game is not None:
        teacher.check_student(game, teacher.num_actions if num_actions is None else num_actions)
    return teacher


def export_teacher(
    run_dir: str | Path, dest: str | Path, *, checkpoint: str = "latest", test: dict | None = None
) -> Path:
    """Write a run's weights, config and curves into a teacher folder (the shipped layout)."""
    run_dir, dest = Path(run_dir), Path(dest)
    state = load_checkpoint_file(run_dir / "checkpoints" / f"{checkpoint}.pt")
    dest.mkdir(parents=True, exist_ok=True)
    slim = {k: state[k] for k in ("model", "num_actions", "config", "step") if k in state}
    path = dest / TEACHER_FILE
    torch.save(slim, path)
    path.with_suffix(".pt.sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest())
    for name in ("config.json", "env.json", "metrics.csv", "evals.csv", "episodes.csv"):
        if (run_dir / name).exists():
            shutil.copy(run_dir / name, dest / name)
    if test is not None:
        (dest / "test.json").write_text(json.dumps(test, indent=2))
    return dest


def teacher_info(source: str | Path) -> dict:
    """Game, backbone, training steps and recorded test score of a teacher, for tables."""
    path = teacher_file(source)
    teacher = load_teacher(source)
    test_file = path.parent / "test.json"
    test = json.loads(test_file.read_text()) if test_file.exists() else {}
    return {
        "teacher": str(source),
        "game": teacher.game,
        "model": teacher.model,
        "training_steps": teacher.step,
        "test_mean": test.get("mean"),
        "test_std": test.get("std"),
        "test_episodes": test.get("episodes"),
    }
