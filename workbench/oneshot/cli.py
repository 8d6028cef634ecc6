"""`workbench sweep-space`: build a tabular benchmark (every architecture of a one-shot space
trained from scratch with PPO). Import-light: the heavy modules load only when it runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.config import PPOConfig
from workbench.options import FieldOptions

DELIBERATE_DEFAULTS: dict[tuple[str, str], str] = {
    ("sweep-space", "checkpoint_interval"): "None: min(--steps, 1e6), as tabular_configs",
    ("sweep-space", "tag"): "tabular: a benchmark's runs keep apart from other PPO runs",
}
"""Options that mirror a PPOConfig field but default otherwise, and why."""


def add_sweep_space_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `sweep-space` on the `workbench` sub-command parsers."""
    p = sub.add_parser(
        "sweep-space",
        help="train every architecture of a one-shot search space with PPO (tabular benchmark)",
    )
    f = FieldOptions(p, PPOConfig)
    p.add_argument("--space", required=True, help="1 (25 archs) | 2 (32 archs)")
    f.add("game")
    f.add("total_steps", "--steps", help="per run; paper: 1e7")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--archs", type=int, nargs="+", help="architecture indices (default: all)")
    f.add("backend", help="auto | gymnasium | envpool")
    f.add("eval_episodes")
    f.add("checkpoint_interval", default=None, help="default: min(steps, 1e6)")
    f.add("tag", default="tabular")
    p.add_argument("--out", type=Path, default=Path("runs"))
    p.set_defaults(func=sweep_space)
    return p


def sweep_space(args: argparse.Namespace) -> int:
    """Run the sweep the arguments describe and print where its table is."""
    from workbench.oneshot.tabular import run_tabular, tabular_path

    overrides = args.config_options.values(args)
    game, steps, tag = (overrides.pop(name) for name in ("game", "total_steps", "tag"))
    table = run_tabular(
        args.space, game, steps, args.seeds, args.out, archs=args.archs, tag=tag, **overrides
    )
    columns = ["arch", "kernels", "reward_mean", "total_reward", "test_score"]
    print(table[columns].to_string(index=False))
    print(f"table: {tabular_path(args.out, args.space, args.game, args.tag)}")
    return 0


def main_sweep_space(argv: list[str] | None = None) -> int:
    """`workbench sweep-space ...` on its own: argv without the sub-command name."""
    parser = argparse.ArgumentParser(prog="workbench")
    add_sweep_space_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sweep-space", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.func(args)
    except (ValueError, ImportError, FileNotFoundError, RuntimeError) as exc:
        print(f"workbench sweep-space: error: {exc}", file=sys.stderr)
        return 2
