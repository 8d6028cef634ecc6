"""`workbench darts search | evaluate | random`: RL-DARTS from the command line (PPO on Procgen).
Import-light: the heavy modules load only when a sub-command runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from workbench.options import FieldOptions

COMMANDS = ("search", "evaluate", "random")


DELIBERATE_DEFAULTS: dict[tuple[str, str], str] = {
    **{(f"darts {c}", "game"): "Dodgeball, RL-DARTS Fig. 3's game" for c in COMMANDS},
    **{(f"darts {c}", "checkpoint_interval"): "None: min(--steps, 1e6)" for c in COMMANDS},
    ("darts evaluate", "depth"): "64: evaluation at 64x3 (RL-DARTS Sec. 3.1)",
    ("darts evaluate", "tag"): "darts-eval, as DartsConfig.evaluation",
    ("darts random", "tag"): "darts-random: random cells keep apart from searched ones",
}
"""Options that mirror a DartsConfig field but default otherwise, and why."""


def add_darts_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `darts` and its sub-commands on the `workbench` sub-command parsers."""
    from workbench.darts.config import DartsConfig

    p = sub.add_parser("darts", help="RL-DARTS: supernet search, discrete cells, random cells")
    darts = p.add_subparsers(dest="darts_command", required=True)

    def common(q: argparse.ArgumentParser, depth: int, tag: str) -> FieldOptions:
        f = FieldOptions(q, DartsConfig)
        f.add("game", default="Dodgeball", help="Procgen game (easy distribution)")
        f.add("total_steps", "--steps", help="RL-DARTS: 25M")
        f.add("seed")
        f.add("depth", default=depth, help="channels of every block")
        f.add("blocks")
        f.add("num_envs")
        f.add("rollout_length")
        f.add("minibatches", help="64: minibatches of 256")
        f.add("checkpoint_interval", default=None, help="default: min(steps, 1e6)")
        f.add("tag", default=tag)
        q.add_argument("--out", type=Path, default=Path("runs"))
        return f

    q = darts.add_parser("search", help="train a supernet (weights and alpha jointly, one-level)")
    f = common(q, DartsConfig.depth, DartsConfig.tag)
    f.add("op_space", help="classic | micro")
    f.add("temperature", help="softmax T (PPO: 5.0)")
    f.add("num_nodes", "--nodes", dest="nodes", help="I, intermediate nodes per cell")
    f.add("alpha_log_interval")
    q.set_defaults(func=darts_search)

    q = darts.add_parser("evaluate", help="train a discrete cell (or IMPALA-CNN) from scratch")
    common(q, 64, "darts-eval")
    source = q.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="a search run: its final discrete cell")
    source.add_argument("--genotype", type=Path, help="a genotype JSON file")
    source.add_argument("--impala", action="store_true", help="IMPALA-CNN, the baseline")
    q.add_argument("--cell-index", type=int, help="with --run: this cell of cells.csv instead")
    q.set_defaults(func=darts_evaluate)

    q = darts.add_parser("random", help="train random cells of an op space (random search)")
    f = common(q, DartsConfig.depth, "darts-random")
    f.add("op_space", help="classic | micro")
    q.add_argument("--count", type=int, default=3, help="random cells (RL-DARTS: 3)")
    q.set_defaults(func=darts_random)
    return p


def _settings(args: argparse.Namespace) -> dict:
    """The DartsConfig fields of the parsed options, with those derived from --steps."""
    return {
        "checkpoint_interval": min(args.steps, 1_000_000),
        "log_interval": min(args.steps, args.num_envs * args.rollout_length),
        **args.config_options.values(args),
    }


def _train(cfg, out: Path) -> Path:
    from workbench.darts.search import run_score, train_darts
    from workbench.runs.folder import run_name

    path = out / run_name(cfg.game, cfg.model, cfg.tag, cfg.seed)
    result = train_darts(cfg, path)
    print(f"run: {path} ({result.steps:,} agent steps); score (mean of the last 100 games): "
          f"{run_score(path):.2f}")  # fmt: skip
    return path


def darts_search(args: argparse.Namespace) -> int:
    """Train a supernet; print its discrete cells."""
    from workbench.darts.config import DartsConfig
    from workbench.darts.search import read_cells

    path = _train(DartsConfig(**_settings(args)), args.out)
    cells = read_cells(path)
    print(f"{len(cells)} distinct discrete cells (cells.csv); the final one:")
    print(json.dumps(json.loads(cells["genotype"].iloc[-1]), indent=1))
    return 0


def darts_evaluate(args: argparse.Namespace) -> int:
    """Train a discrete cell or IMPALA-CNN from scratch with RL-DARTS's evaluation settings."""
    from workbench.darts.config import DartsConfig
    from workbench.darts.genotype import Genotype
    from workbench.darts.search import read_cells

    genotype = None
    if args.run is not None:
        cells = read_cells(args.run)
        index = len(cells) - 1 if args.cell_index is None else args.cell_index
        if not 0 <= index < len(cells):
            raise ValueError(f"--cell-index must be in 0..{len(cells) - 1}, got {index}")
        genotype = Genotype.from_json(cells["genotype"].iloc[index])
    elif args.genotype is not None:
        genotype = Genotype.from_json(args.genotype.read_text())
    settings = _settings(args)
    _train(DartsConfig.evaluation(settings.pop("game"), genotype, **settings), args.out)
    return 0


def darts_random(args: argparse.Namespace) -> int:
    """Train `count` random cells; print the best."""
    from workbench.darts.config import DartsConfig
    from workbench.darts.discretize import random_genotype
    from workbench.darts.search import run_score

    if args.count < 1:
        raise ValueError(f"--count must be >= 1, got {args.count}")
    scores = []
    for i in range(args.count):
        genotype = random_genotype(args.op_space, seed=1000 * args.seed + i)
        cfg = DartsConfig(**_settings(args), encoder="cell", genotype=genotype.to_json())
        scores.append((run_score(_train(cfg, args.out)), genotype))
    score, best = max(scores, key=lambda s: (s[0] == s[0], s[0]))  # NaN (no game ended) last
    print(f"best random cell (score {score:.2f}):")
    print(json.dumps(best.to_dict(), indent=1))
    return 0
