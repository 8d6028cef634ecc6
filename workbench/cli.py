"""Command line: `workbench train | eval | search | cosearch | derive | hw | teachers |
export-teacher | profile | models | games | reproduce | sweep | sweep-space | darts | runs`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workbench.config import A2CConfig, SearchConfig
from workbench.options import FieldOptions

DELIBERATE_DEFAULTS: dict[tuple[str, str], str] = {
    ("train", "steps"): "1e6 agent steps, a first run of minutes (A2D's budget is 3e7)",
    ("train", "eval_interval"): "None: a tenth of --steps",
    ("train", "checkpoint_interval"): "None: --steps, one segment",
    ("search", "eval_interval"): "None: a tenth of --steps",
    ("search", "checkpoint_interval"): "None: --steps, one segment",
    ("search", "alpha_log_interval"): "None: min(1e4, --steps)",
    ("search", "tag"): "None: <strategy>-<sampler>-<distill>[-latency]",
    ("search", "distill"): "actor+critic: A2D's search distils (none: vanilla DNAS)",
    ("cosearch", "eval_interval"): "None: a tenth of --steps",
    ("cosearch", "checkpoint_interval"): "None: --steps, one segment",
    ("cosearch", "alpha_log_interval"): "None: min(1e4, --steps)",
    ("cosearch", "tag"): "None: <strategy>-<sampler>-<distill>-latency",
    ("cosearch", "distill"): "actor+critic, as A3C-S",
    ("cosearch", "sampler"): "hard: A3C-S's top-K sampling",
    ("cosearch", "cost"): "latency: what makes it a co-search",
    ("cosearch", "das_iterations"): "1500: A3C-S's DAS budget per accelerator search",
}
"""Options of this CLI that mirror a config field but default otherwise, and why (a test checks
that every other mirroring option has its field's default). darts.cli and oneshot.cli keep
their own."""


def _budget_defaults(steps: int) -> dict[str, int]:
    """The fields `train` and `search` derive from --steps unless given (DELIBERATE_DEFAULTS):
    a test every tenth of the budget, one segment, a metrics row every 1e4 steps."""
    return {"eval_interval": max(steps // 10, 1), "checkpoint_interval": steps,
            "log_interval": min(10_000, steps)}  # fmt: skip


def _train(args: argparse.Namespace) -> int:
    from workbench.rl.a2c import train
    from workbench.runs.folder import run_name

    arch = None
    if args.arch is not None:
        from workbench.nas.space import load_arch

        arch = load_arch(args.arch)
    fields = args.config_options.values(args)
    cfg = A2CConfig(**{
        **_budget_defaults(args.steps), **fields,
        "model": f"arch-{args.arch.stem}" if arch else args.model, "arch": arch,
    })  # fmt: skip
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
    from workbench.rl.a2c import train
    from workbench.runs.folder import run_name

    cost_suffix = "-latency" if args.cost == "latency" else ""  # co-search runs keep apart
    fields = args.config_options.values(args)
    cfg = SearchConfig(**{
        **_budget_defaults(args.steps), "alpha_log_interval": min(10_000, args.steps), **fields,
        "model": f"supernet-{args.space}",
        "tag": args.tag or f"{args.strategy}-{args.sampler}-{args.distill}{cost_suffix}",
    })  # fmt: skip
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
    from workbench.models.profile import count_params
    from workbench.nas.cost import arch_macs
    from workbench.nas.space import build_model, get_space, save_arch
    from workbench.runs.folder import load_checkpoint_file
    from workbench.runs.kinds import kind_of

    state = load_checkpoint_file(args.run / "checkpoints" / f"{args.checkpoint}.pt")
    config = state["config"]
    kind = kind_of(config)
    if kind not in ("dnas", "cosearch"):
        raise ValueError(
            f"{args.run} is a run of kind {kind!r}, not a differentiable search (dnas, "
            "cosearch): it has no architecture to derive"
        )
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
    from workbench.rl.evaluation import NonFinitePolicy, evaluate
    from workbench.runs.folder import load_checkpoint_file
    from workbench.runs.kinds import agent_from_state

    state = load_checkpoint_file(args.run / "checkpoints" / f"{args.checkpoint}.pt")
    config = state["config"]
    agent = agent_from_state(state)
    try:
        result = evaluate(
            agent,
            config["game"],
            episodes=args.episodes,
            greedy=args.greedy,
            seed=args.seed,
            backend=config.get("backend", "auto"),
            progress=True,
        )
    except NonFinitePolicy as exc:
        failure = args.run / "failure.json"
        where = f"; {failure} records where training diverged" if failure.exists() else ""
        raise NonFinitePolicy(
            f"{exc}: checkpoint {args.checkpoint}.pt of {args.run} holds a non-finite policy"
            f"{where}. Evaluate an earlier checkpoint (--checkpoint best) or retrain."
        ) from None
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
    from workbench.rl.evaluation import evaluate
    from workbench.rl.teacher import export_teacher
    from workbench.runs.folder import load_checkpoint_file
    from workbench.runs.kinds import agent_from_state

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
    f = FieldOptions(p, SearchConfig)
    f.add("game")
    f.add("space", help="a2d (14 cells) | a3cs (12 cells)")
    f.add("strategy", help="one-level | bi-level | bi-level-first-order")
    f.add("sampler", default=sampler, help="soft (A2D) | hard (A3C-S top-K)")
    f.add("top_k", help="ops per cell with alpha gradients (hard)")
    f.add("cost_lambda", "--lambda", dest="cost_lambda",
          help="weight of the MACs cost, in units of ResNet-20's MACs")  # fmt: skip
    f.add("distill", default="actor+critic", help="none: vanilla DNAS")
    f.add("teacher", help="e.g. Breakout__resnet20 (see `workbench teachers`)")
    f.add("total_steps", "--steps", help="A2D: 2e7")
    f.add("seed")
    f.add("num_envs")
    f.add("backend", help="auto | gymnasium | envpool")
    f.add("tag", default=None, help="default: <strategy>-<sampler>-<distill>[-latency]")
    f.add("eval_interval", default=None, help="default: a tenth of --steps")
    f.add("eval_episodes")
    f.add("checkpoint_interval", default=None, help="default: --steps")
    p.add_argument("--out", type=Path, default=Path("runs"))
    p.add_argument("--tensorboard", action="store_true")
    f.add("cost", default=cost, help="macs (A2D) | latency (A3C-S co-search)")
    f.add("hw_interval", help="co-search: steps between accelerator searches")
    f.add("das_iterations", default=das_iterations, help="co-search: DAS iterations")
    f.add("alpha_log_interval", default=None, help="default: min(1e4, --steps)")
    p.set_defaults(func=_search)


def build_parser() -> argparse.ArgumentParser:
    """The `workbench` argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train an A2C agent (A2D Sec. 4.1 settings)")
    f = FieldOptions(p, A2CConfig)
    f.add("game")
    f.add("model")
    f.add("total_steps", "--steps", default=1_000_000, help="agent steps, e.g. 1e6")
    f.add("seed")
    f.add("num_envs")
    f.add("backend", help="auto | gymnasium | envpool")
    f.add("tag")
    f.add("eval_interval", default=None, help="default: a tenth of --steps")
    f.add("eval_episodes")
    f.add("checkpoint_interval", default=None, help="default: --steps")
    p.add_argument("--out", type=Path, default=Path("runs"))
    f.add("distill", help="none | actor | actor+reuse-critic | actor+critic (A2D Tab. 2)")
    f.add("teacher", help="shipped teacher name, run folder or checkpoint file")
    p.add_argument("--arch", type=Path, help="train a searched architecture (JSON) instead")
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard scalars to <run>/tensorboard",
    )
    f.add("actor_distill_coef", help="alpha2 of A2D Eq. 8")
    f.add("critic_distill_coef", help="alpha3 of A2D Eq. 8")
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
