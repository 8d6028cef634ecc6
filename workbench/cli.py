"""Command line: `workbench profile | models | games | reproduce`."""

from __future__ import annotations

import argparse
import json
import sys


def _profile(args: argparse.Namespace) -> int:
    from workbench.models.profile import profile_model

    p = profile_model(
        args.model,
        num_actions=args.num_actions,
        input_shape=(args.channels, args.size, args.size),
        latency=not args.no_latency,
    )
    if args.json:
        print(json.dumps(p.to_dict(), indent=2))
    else:
        print(
            f"{p.model}: {p.params:,} params, {p.macs:,} MACs per frame, "
            f"{p.activation_bytes / 2**20:.2f} MB activations, latency {p.latency_ms} ms"
        )
        print(p.layers.to_string(index=False))
    return 0


def _models(args: argparse.Namespace) -> int:
    from workbench.models import list_models

    print("\n".join(list_models(args.pattern)))
    return 0


def _games(args: argparse.Namespace) -> int:
    from workbench.envs import list_games

    print("\n".join(list_games()))
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from workbench.experiments.reproduce import reproduce

    result = reproduce(
        args.preset, only=args.only, notebooks_dir=args.notebooks, reports_root=args.reports
    )
    print(f"index: {result.index}")
    for run in result.failed:
        print(f"error: {run.error}", file=sys.stderr)
    return 1 if result.failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The `workbench` argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("profile", help="params, MACs, per-layer table and CPU latency of a model")
    p.add_argument("--model", required=True)
    p.add_argument("--num-actions", type=int, default=18, help="actor head size (18: full set)")
    p.add_argument("--channels", type=int, default=4)
    p.add_argument("--size", type=int, default=84)
    p.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_profile)

    p = sub.add_parser("models", help="list registered backbones")
    p.add_argument("pattern", nargs="?", default="*")
    p.set_defaults(func=_models)

    p = sub.add_parser("games", help="list Atari games")
    p.set_defaults(func=_games)

    p = sub.add_parser("reproduce", help="run the notebooks with papermill into reports/<preset>/")
    p.add_argument("--preset", default="smoke", help="smoke | laptop | paper")
    p.add_argument("--only", nargs="+", help="notebook names (file stems) to run")
    p.add_argument("--notebooks", default="notebooks")
    p.add_argument("--reports", default="reports")
    p.set_defaults(func=_reproduce)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `workbench` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, ImportError, FileNotFoundError) as exc:
        print(f"workbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
