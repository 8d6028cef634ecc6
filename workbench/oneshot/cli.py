"""`workbench sweep-space`: build a tabular benchmark (every architecture of a one-shot space
trained from scratch with PPO). Import-light: the heavy modules load only when it runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_sweep_space_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `sweep-space` on the `workbench` sub-command parsers."""
    from workbench.cli import parse_steps

    p = sub.add_parser(
        "sweep-space",
        help="train every architecture of a one-shot search space with PPO (tabular benchmark)",
    )
    p.add_argument("--space", required=True, help="1 (25 archs) | 2 (32 archs)")
    p.add_argument("--game", default="Breakout")
    p.add_argument("--steps", type=parse_steps, default=10_000_000, help="per run; paper: 1e7")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--archs", type=int, nargs="+", help="architecture indices (default: all)")
    p.add_argument("--backend", default="auto", help="auto | gymnasium | envpool")
    p.add_argument("--eval-episodes", type=int, default=30)
    p.add_argument("--checkpoint-interval", type=parse_steps, help="default: min(steps, 1e6)")
    p.add_argument("--tag", default="tabular")
    p.add_argument("--out", type=Path, default=Path("runs"))
    p.set_defaults(func=sweep_space)
    return p


def sweep_space(args: argparse.Namespace) -> int:
    """Run the sweep the arguments describe and print where its table is."""
    from workbench.oneshot.tabular import run_tabular, tabular_path

    overrides = {"backend": args.backend, "eval_episodes": args.eval_episodes}
    if args.checkpoint_interval:
        overrides["checkpoint_interval"] = args.checkpoint_interval
    table = run_tabular(
        args.space, args.game, args.steps, args.seeds, args.out, archs=args.archs,
        tag=args.tag, **overrides,
    )  # fmt: skip
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
