"""Command line: `workbench train | eval | search | cosearch | derive | hw | teachers |
export-teacher | profile | models | games | reproduce | sweep | sweep-space | darts | runs`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def parse_steps(text: str) -> int:
    """An integer count that may be written as 1e6 or 1_000_000; rejects fractions and <= 0."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0 or value != int(value):
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(value)


def _train(args: argparse.Namespace) -> int:
    from workbench.config import A2CConfig
    from workbench.experiments.runs import run_name
    from workbench.rl.a2c import train

    arch = None
    if args.arch is not None:
        from workbench.nas.space import load_arch

        arch = load_arch(args.arch)
    cfg = A2CConfig(
        game=args.game,
        model=f"arch-{args.arch.stem}" if arch else args.model,
        arch=arch,
        total_steps=args.steps,
        seed=args.seed,
        num_envs=args.num_envs,
        backend=args.backend,
        tag=args.tag,
        eval_interval=args.eval_interval or max(args.steps // 10, 1),
        eval_episodes=args.eval_episodes,
        checkpoint_interval=args.checkpoint_interval or args.steps,
        log_interval=min(10_000, args.steps),
        distill=args.distill,
        teacher=args.teacher,
        actor_distill_coef=args.actor_distill_coef,
        critic_distill_coef=args.critic_distill_coef,
    )
    run_dir = args.out / run_name(cfg.game, cfg.model, cfg.tag, cfg.seed)
    result = train(cfg, run_dir, tensorboard=args.tensorboard)
    print(f"run: {result.run_dir} ({result.steps:,} agent steps)")
    if len(result.evals):
        last = result.evals.iloc[-1]
        print(
            f"test score at {int(last['step']):,} steps: {last['mean']:.1f} +- {last['std']:.1f} "
            f"({int(last['episodes'])} episodes)"
        )
    return 0


def _search(args: argparse.Namespace) -> int:
    from workbench.config import SearchConfig
    from workbench.experiments.runs import run_name
    from workbench.rl.a2c import train

    cost_suffix = "-latency" if args.cost == "latency" else ""  # co-search runs keep apart
    cfg = SearchConfig(
        game=args.game,
        model=f"supernet-{args.space}",
        space=args.space,
        strategy=args.strategy,
        sampler=args.sampler,
        top_k=args.top_k,
        cost_lambda=args.cost_lambda,
        total_steps=args.steps,
        seed=args.seed,
        num_envs=args.num_envs,
        backend=args.backend,
        tag=args.tag or f"{args.strategy}-{args.sampler}-{args.distill}{cost_suffix}",
        eval_interval=args.eval_interval or max(args.steps // 10, 1),
        eval_episodes=args.eval_episodes,
        checkpoint_interval=args.checkpoint_interval or args.steps,
        log_interval=min(10_000, args.steps),
        alpha_log_interval=args.alpha_log_interval or min(10_000, args.steps),
        distill=args.distill,
        teacher=args.teacher,
        cost=args.cost,
        hw_interval=args.hw_interval,
        das_iterations=args.das_iterations,
    )
    run_dir = args.out / run_name(cfg.game, cfg.model, cfg.tag, cfg.seed)
    result = train(cfg, run_dir, tensorboard=args.tensorboard)
    print(f"search run: {result.run_dir} ({result.steps:,} agent steps)")
    print(f"derive it: workbench derive --run {result.run_dir}")
    return 0


def _hw_predict(args: argparse.Namespace) -> int:
    from workbench.hardware import (
        ZC706,
        das_search,
        dnnbuilder_like,
        extract_layers,
        load_accelerator,
        predict,
        save_accelerator,
    )
    from workbench.models.registry import create_model, list_models

    if args.arch in list_models():
        model = create_model(args.arch)
    else:
        from workbench.nas.space import build_model, load_arch

        model = build_model(load_arch(args.arch))
    layers = extract_layers(model)
    designs = {"DNNBuilder-like": dnnbuilder_like(layers, ZC706)}
    if args.accel:
        designs["given"] = load_accelerator(args.accel)
    else:
        result = das_search(layers, ZC706, iterations=args.das_iterations, seed=args.seed)
        if result.best_design is not None:
            designs["DAS"] = result.best_design
            if args.save_accel:
                save_accelerator(result.best_design, args.save_accel)
    for name, design in designs.items():
        p = predict(layers, design, ZC706)
        if not p.feasible:
            print(f"{name}: infeasible on {ZC706.name}: {p.reason}")
            continue
        chunks = ", ".join(f"{t * 1e3:.3f}" for t in p.chunk_latency_s)
        print(
            f"{name}: {p.fps:,.1f} FPS ({p.bound}-bound), {len(design.chunks)} chunks, latency "
            f"per chunk [ms]: {chunks}; {p.dsp_used}/{ZC706.dsp} DSP, {p.bram_used}/"
            f"{ZC706.bram36} BRAM36"
        )
    return 0


def _derive(args: argparse.Namespace) -> int:
    from workbench.experiments.runs import load_checkpoint_file
    from workbench.models.profile import count_params
    from workbench.nas.cost import arch_macs
    from workbench.nas.space import build_model, get_space, save_arch

    state = load_checkpoint_file(args.run / "checkpoints" / f"{args.checkpoint}.pt")
    config = state["config"]
    if "backbone.alpha" not in state["model"]:
        raise ValueError(f"{args.run} is not a search run (its checkpoint holds no alpha)")
    space = get_space(config["space"])
    alpha = state["model"]["backbone.alpha"]
    arch = {
        label: space.ops[i]
        for label, i in zip(space.cell_labels, alpha.argmax(-1).tolist(), strict=True)
    }
    out = args.out or args.run / "arch.json"
    save_arch(arch, out, space.name)
    macs, params = arch_macs(arch, space.name), count_params(build_model(arch, space.name))
    print(f"derived {space.name} architecture at step {state['step']:,}: {out}")
    print(f"{macs:,} MACs per frame, {params:,} backbone params")
    print(json.dumps(arch))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from workbench.experiments.runs import load_checkpoint_file
    from workbench.models import agent_from_state
    from workbench.rl.evaluation import evaluate

    state = load_checkpoint_file(args.run / "checkpoints" / f"{args.checkpoint}.pt")
    config = state["config"]
    agent = agent_from_state(state)
    result = evaluate(
        agent,
        config["game"],
        episodes=args.episodes,
        greedy=args.greedy,
        seed=args.seed,
        backend=config.get("backend", "auto"),
        progress=True,
    )
    summary = result.summary()
    (args.run / f"eval_{args.checkpoint}.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: summary[k] for k in ("game", "episodes", "mean", "std", "min", "max")}))
    return 0


def _teachers(args: argparse.Namespace) -> int:
    from workbench.rl.teacher import TEACHERS_DIR, list_teachers

    for name in list_teachers():
        test_file = TEACHERS_DIR / name / "test.json"
        if not test_file.exists():
            print(f"{name}: no test score recorded")
            continue
        t = json.loads(test_file.read_text())
        print(
            f"{name}: {t['step']:,} training steps; test score {t['mean']:.1f} +- {t['std']:.1f} "
            f"over {t['episodes']} games"
        )
    return 0


def _export_teacher(args: argparse.Namespace) -> int:
    from workbench.experiments.runs import load_checkpoint_file
    from workbench.models import agent_from_state
    from workbench.rl.evaluation import evaluate
    from workbench.rl.teacher import export_teacher

    state = load_checkpoint_file(args.run / "checkpoints" / f"{args.checkpoint}.pt")
    result = evaluate(
        agent_from_state(state),
        state["config"]["game"],
        episodes=args.episodes,
        seed=args.seed,
        backend=state["config"].get("backend", "auto"),
        progress=True,
    )
    test = {**result.summary(), "step": int(state["step"]), "checkpoint": args.checkpoint}
    dest = export_teacher(args.run, args.to, checkpoint=args.checkpoint, test=test)
    print(f"teacher: {dest} (test score {result.mean:.1f} +- {result.std:.1f})")
    return 0


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


def notebook_parameters(pairs: list[str] | None) -> dict:
    """--param NAME=VALUE pairs as a dict, each value read as YAML (false, 3, [a, b], text)."""
    import yaml

    params = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"--param takes NAME=VALUE, got {pair!r}")
        params[name] = yaml.safe_load(value)
    return params


def _reproduce(args: argparse.Namespace) -> int:
    from workbench.experiments.reproduce import reproduce

    result = reproduce(
        args.preset,
        only=args.only,
        notebooks_dir=args.notebooks,
        reports_root=args.reports,
        extra_parameters=notebook_parameters(args.param),
        jobs=args.jobs,
    )
    print(f"index: {result.index}")
    for run in result.failed:
        print(f"error: {run.error}", file=sys.stderr)
    return 1 if result.failed else 0


def _runs(args: argparse.Namespace) -> int:
    from workbench.experiments.status import STATES, run_status

    unknown = set(args.state or ()) - set(STATES)
    if unknown:
        raise ValueError(f"unknown state(s) {sorted(unknown)}; states are {', '.join(STATES)}")
    table = run_status(args.root)
    if args.state:
        table = table[table["state"].isin(args.state)]
    if table.empty:
        print(
            f"no runs under {args.root}"
            + (f" in state {' '.join(args.state)}" if args.state else "")
        )
        return 0
    counts = table["state"].value_counts()
    print(table.astype(object).where(table.notna(), "").to_string(index=False))
    print(", ".join(f"{counts[s]} {s}" for s in STATES if s in counts))
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from workbench.experiments.sweep import run_args

    return run_args(args)


def _add_search_arguments(
    p: argparse.ArgumentParser, *, sampler: str, cost: str, das_iterations: int
) -> None:
    """The options of `search` and `cosearch`, which differ only in these defaults."""
    p.add_argument("--game", default="Breakout")
    p.add_argument("--space", default="a2d", help="a2d (14 cells) | a3cs (12 cells)")
    p.add_argument("--strategy", default="one-level", help="one-level | bi-level | "
                   "bi-level-first-order")  # fmt: skip
    p.add_argument("--sampler", default=sampler, help="soft (A2D) | hard (A3C-S top-K)")
    p.add_argument("--top-k", type=int, default=2, help="ops per cell with alpha gradients (hard)")
    p.add_argument("--lambda", dest="cost_lambda", type=float, default=1e-2,
                   help="weight of the MACs cost, in units of ResNet-20's MACs")  # fmt: skip
    p.add_argument("--distill", default="actor+critic", help="none: vanilla DNAS")
    p.add_argument("--teacher", help="e.g. Breakout__resnet20 (see `workbench teachers`)")
    p.add_argument("--steps", type=parse_steps, default=20_000_000, help="A2D: 2e7")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--backend", default="auto", help="auto | gymnasium | envpool")
    p.add_argument("--tag", help="default: <strategy>-<sampler>-<distill>[-latency]")
    p.add_argument("--eval-interval", type=parse_steps, help="default: a tenth of --steps")
    p.add_argument("--eval-episodes", type=int, default=30)
    p.add_argument("--checkpoint-interval", type=parse_steps, help="default: --steps")
    p.add_argument("--out", type=Path, default=Path("runs"))
    p.add_argument("--tensorboard", action="store_true")
    p.add_argument("--cost", default=cost, help="macs (A2D) | latency (A3C-S co-search)")
    p.add_argument("--hw-interval", type=parse_steps, default=100_000,
                   help="co-search: steps between accelerator searches")  # fmt: skip
    p.add_argument(
        "--das-iterations", type=int, default=das_iterations, help="co-search: DAS iterations"
    )
    p.add_argument("--alpha-log-interval", type=parse_steps, help="default: min(1e4, --steps)")
    p.set_defaults(func=_search)


def build_parser() -> argparse.ArgumentParser:
    """The `workbench` argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train an A2C agent (A2D Sec. 4.1 settings)")
    p.add_argument("--game", default="Breakout")
    p.add_argument("--model", default="vanilla")
    p.add_argument("--steps", type=parse_steps, default=1_000_000, help="agent steps, e.g. 1e6")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--backend", default="auto", help="auto | gymnasium | envpool")
    p.add_argument("--tag", default="a2c")
    p.add_argument("--eval-interval", type=parse_steps, help="default: a tenth of --steps")
    p.add_argument("--eval-episodes", type=int, default=30)
    p.add_argument("--checkpoint-interval", type=parse_steps, help="default: --steps")
    p.add_argument("--out", type=Path, default=Path("runs"))
    p.add_argument(
        "--distill",
        default="none",
        help="none | actor | actor+reuse-critic | actor+critic (A2D Tab. 2)",
    )
    p.add_argument("--teacher", help="shipped teacher name, run folder or checkpoint file")
    p.add_argument("--arch", type=Path, help="train a searched architecture (JSON) instead")
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard scalars to <run>/tensorboard",
    )
    p.add_argument("--actor-distill-coef", type=float, default=1e-1, help="alpha2 of A2D Eq. 8")
    p.add_argument("--critic-distill-coef", type=float, default=1e-3, help="alpha3 of A2D Eq. 8")
    p.set_defaults(func=_train)

    p = sub.add_parser("search", help="differentiable agent search (A2D; DARTS bi-level)")
    _add_search_arguments(p, sampler="soft", cost="macs", das_iterations=300)
    p = sub.add_parser(
        "cosearch", help="agent-accelerator co-search (A3C-S): `search` with hard top-K sampling "
        "and the latency of the network on its DAS accelerator as the cost",
    )  # fmt: skip
    _add_search_arguments(p, sampler="hard", cost="latency", das_iterations=1500)

    p = sub.add_parser("hw", help="accelerator tools (A3C-S)")
    hw = p.add_subparsers(dest="hw_command", required=True)
    q = hw.add_parser("predict", help="FPS, latency per chunk and resources on the ZC706")
    q.add_argument("--arch", required=True, help="registered backbone or architecture JSON")
    q.add_argument("--accel", type=Path, help="accelerator JSON; default: search one with DAS")
    q.add_argument("--das-iterations", type=int, default=1500)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--save-accel", type=Path, help="write the DAS design as JSON")
    q.set_defaults(func=_hw_predict)

    p = sub.add_parser("derive", help="argmax architecture of a search run, as JSON")
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--checkpoint", default="latest", help="latest | best")
    p.add_argument("--out", type=Path, help="default: <run>/arch.json")
    p.set_defaults(func=_derive)

    p = sub.add_parser("teachers", help="list the teachers shipped with the package")
    p.set_defaults(func=_teachers)

    p = sub.add_parser("export-teacher", help="test a run and write it as a teacher folder")
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--to", type=Path, required=True)
    p.add_argument("--checkpoint", default="latest", help="latest | best")
    p.add_argument("--episodes", type=int, default=30)
    p.add_argument("--seed", type=int, default=12345)
    p.set_defaults(func=_export_teacher)

    p = sub.add_parser("eval", help="30-episode test score of a run's checkpoint")
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--episodes", type=int, default=30)
    p.add_argument("--checkpoint", default="latest", help="latest | best")
    p.add_argument("--greedy", action="store_true")
    p.add_argument("--seed", type=int, default=12345)
    p.set_defaults(func=_eval)

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
    p.add_argument("--jobs", type=int, default=1, help="notebooks run in parallel kernels")
    p.add_argument(
        "-p", "--param", action="append", metavar="NAME=VALUE",
        help="a notebook parameter (YAML value), e.g. -p train_missing=false; repeatable",
    )  # fmt: skip
    p.set_defaults(func=_reproduce)

    p = sub.add_parser("sweep", help="run a grid (YAML) of trainings/searches, locally or on Ray")
    p.add_argument("--grid", type=Path, required=True, help="grid YAML (examples/grids/)")
    p.add_argument("--backend", default="local", choices=("local", "ray"))
    p.add_argument("--address", help="Ray address (host:6379, auto); default: RAY_ADDRESS")
    p.add_argument("--max-concurrent", type=int, help="trials at once (local default: cores/cpus)")
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--retries", type=int, default=2, help="restarts of a trial whose worker dies")
    p.add_argument("--dry-run", action="store_true", help="list the trials and exit")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("runs", help="where each run under a folder stands (progress, ETA, scores)")
    p.add_argument("root", type=Path, nargs="?", default=Path("runs"))
    p.add_argument("--state", nargs="+", help="only these: training paused failed new complete")
    p.set_defaults(func=_runs)

    from workbench.oneshot.cli import add_sweep_space_parser

    add_sweep_space_parser(sub)
    from workbench.darts.cli import add_darts_parser

    add_darts_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `workbench` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, ImportError, FileNotFoundError, RuntimeError) as exc:
        print(f"workbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
