"""Golden runs: one tiny, real run of every kind of training run, recorded to compare against.

The safety net of the training-loop refactor (issue 30): `tests/test_golden.py` trains each
config below with the current code and requires every CSV log to equal, bit for bit, the one
recorded here at the commit before the refactor (timing columns aside).

    OMP_NUM_THREADS=1 python tests/golden/record.py            # re-record every kind
    OMP_NUM_THREADS=1 python tests/golden/record.py ppo-atari  # or some of them
    python tests/golden/record.py --out /tmp/again             # record elsewhere (to diff)
    python tests/golden/record.py --check                      # compare, like the test

What a kind stores, in tests/golden/<kind>/: the run folder's config.json, every CSV log the
run wrote (metrics.csv, episodes.csv, evals.csv, alpha.csv, archs.csv, cells.csv, hardware.csv,
warnings.csv: whichever exist) with the timing columns (`TIMING_COLUMNS`) taken out, and
final_weights.json, sha256 digests of the last checkpoint's model weights. Provenance and
timings (env.json, wallclock.json) are not stored. Runs use one torch thread on the CPU: the
numbers are those of `torch.set_num_threads(1)`.

The training entry points are imported in one place each (the `train_*` functions below), so
that a refactor which renames or moves one updates this file alone.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parent
TIMING_COLUMNS = ("steps_per_s",)
CHANGED_ON_PURPOSE = {
    "expected_cost": 1e-6,
}
"""Columns whose text changed on purpose after recording, with the relative tolerance they are
compared at. expected_cost (metrics.csv of a search): the old loop logged (lambda * cost) /
lambda in Python floats, which divides by zero at lambda = 0; the engine logs the unscaled cost
itself, the same float32 value without the float64 round trip (issue 30), so the two texts agree
to float32 precision (~1e-7 relative), not digit for digit."""
"""Wall-clock columns of the CSV logs: never stored nor compared."""
WEIGHTS = "final_weights.json"
TEACHER = "Breakout__resnet20"
"""The shipped teacher (workbench/teachers) of the distilled runs."""
SEARCHED_ARCH = {
    "cell_0": "ir3_e1", "cell_1": "ir5_e3", "cell_2": "ir3_e1", "cell_3": "ir3_e1",
    "cell_4": "ir3_e1", "cell_5": "ir3_e1", "cell_6": "ir3_e1", "cell_7": "ir3_e1",
    "cell_8": "skip", "cell_9": "skip", "cell_10": "ir5_e1", "cell_11": "ir3_e1",
    "cell_12": "ir3_e1", "cell_13": "skip",
}  # fmt: skip
"""The last derived a2d architecture of the shipped example search (examples/search_breakout_a2d,
archs.csv at step 1920)."""
DARTS_GENOTYPE = (
    '{"op_space":"classic","normal":[[["dil5x5_relu",0]],[["skip",0],["dil5x5_relu",1]],'
    '[["dil5x5_relu",1],["dil3x3_relu",2]],[["conv5x5_relu",1],["dil3x3_relu",2]]],'
    '"reduce":[[["conv3x3",0]],[["avgpool3x3",0],["conv3x3",1]],[["avgpool3x3",0],'
    '["skip",2]],[["skip",0],["avgpool3x3",1]]]}'
)
"""random_genotype("classic", 0), pinned as text."""


# --- the entry points: the one place to update when the refactor moves or renames one ---------


def train_a2c(cfg: Any, run_dir: Path, **kwargs: Any) -> Any:
    """A2C, distillation and the differentiable searches (A2CConfig, SearchConfig)."""
    from workbench.rl.a2c import train

    return train(cfg, run_dir, progress=False, **kwargs)


def train_ppo(cfg: Any, run_dir: Path, **kwargs: Any) -> Any:
    """PPO on Atari or Procgen, and the tabular benchmark's runs (PPOConfig)."""
    from workbench.rl.ppo import train_ppo

    return train_ppo(cfg, run_dir, progress=False, **kwargs)


def train_oneshot(cfg: Any, run_dir: Path, **kwargs: Any) -> Any:
    """SPOS and ENAS supernets (OneShotConfig)."""
    from workbench.oneshot.search import train_oneshot

    return train_oneshot(cfg, run_dir, progress=False, **kwargs)


def train_darts(cfg: Any, run_dir: Path, **kwargs: Any) -> Any:
    """RL-DARTS: supernet search, discrete cell, IMPALA-CNN (DartsConfig)."""
    from workbench.darts.search import train_darts

    return train_darts(cfg, run_dir, progress=False, **kwargs)


Launcher = Callable[..., Any]


def build_kinds() -> dict[str, tuple[Launcher, Any]]:
    """kind -> (entry point, config): every kind of training run, tiny but on real games."""
    from workbench.config import A2CConfig, SearchConfig
    from workbench.darts.config import DartsConfig
    from workbench.darts.genotype import Genotype
    from workbench.oneshot.config import OneShotConfig
    from workbench.rl.ppo import PPOConfig

    # A2C: 1 env x 5 steps per update, 78 updates in 3 segments of 130 steps (enough for some
    # random Breakout games to end: episodes.csv), tests at 195 and 390
    a2c = dict(
        game="Breakout", model="vanilla", total_steps=390, num_envs=1, rollout_length=5,
        eval_interval=195, eval_episodes=1, checkpoint_interval=130, log_interval=30,
        backend="gymnasium",
    )  # fmt: skip
    # envpool and the rest of A2C: 2 envs x 5 steps, 12 updates in 3 segments, one test at the
    # end; the distilled ones from the shipped ResNet-20 teacher
    distilled = dict(a2c, num_envs=2, total_steps=120, checkpoint_interval=40, eval_interval=120,
                     log_interval=10)  # fmt: skip
    envpool = dict(distilled, backend="envpool")
    # searches: 2 envs x 2 steps per update, 6 updates in 3 segments (2 updates each, so the
    # bi-level alpha step, on the previous rollout of its segment, runs in each), one test
    search = dict(
        game="Breakout", total_steps=24, num_envs=2, rollout_length=2, eval_interval=24,
        eval_episodes=1, checkpoint_interval=8, log_interval=4, alpha_log_interval=4,
        backend="gymnasium",
    )  # fmt: skip
    # the soft sampler (every op of every cell runs) and second order: the same 6 updates in
    # 3 segments on 1 env
    soft = dict(search, num_envs=1, total_steps=12, checkpoint_interval=4, eval_interval=12,
                log_interval=2, alpha_log_interval=2)  # fmt: skip
    # PPO on Atari: 2 envs x 32 steps, 6 updates in 3 segments, tests at 192 and 384
    ppo = dict(
        game="Breakout", total_steps=384, num_envs=2, rollout_length=32, epochs=2,
        minibatches=2, eval_interval=192, eval_episodes=1, checkpoint_interval=128,
        log_interval=64, backend="gymnasium",
    )  # fmt: skip
    # SPOS and a tabular run: 3 updates in 3 segments, 1 epoch, one test at the end (tabular
    # only: SPOS ranks its candidates after the search)
    oneshot = dict(ppo, space=1, epochs=1, minibatches=1, total_steps=192, checkpoint_interval=64,
                   eval_interval=192, log_interval=32)  # fmt: skip
    # ENAS: 1 env x 64 steps, 12 updates in 3 segments of 256 steps (games end, so children
    # get rewards), 6 children of 2 updates, 3 controller steps; one test at the end
    enas = dict(oneshot, num_envs=1, rollout_length=64, total_steps=768, checkpoint_interval=256,
                eval_interval=768, log_interval=128)  # fmt: skip
    # RL-DARTS on Procgen: 4 envs x 16 steps, 3 updates in 3 segments (no tests on Procgen)
    darts = dict(
        game="Dodgeball", total_steps=192, num_envs=4, rollout_length=16, epochs=1,
        minibatches=2, depth=4, blocks=2, checkpoint_interval=64, log_interval=64,
    )  # fmt: skip
    game = darts["game"]
    darts_ppo = {k: v for k, v in darts.items() if k != "game"}

    kinds: dict[str, tuple[Launcher, Any]] = {
        "a2c-none": (train_a2c, A2CConfig(**a2c)),
        "a2c-none-envpool": (train_a2c, A2CConfig(**envpool)),
        "a2c-actor": (train_a2c, A2CConfig(**distilled, distill="actor", teacher=TEACHER)),
        "a2c-actor+reuse-critic": (
            train_a2c,
            A2CConfig(**distilled, distill="actor+reuse-critic", teacher=TEACHER),
        ),  # fmt: skip
        "a2c-actor+critic": (
            train_a2c,
            A2CConfig(**distilled, distill="actor+critic", teacher=TEACHER),
        ),  # fmt: skip
        "a2c-arch": (
            train_a2c,
            A2CConfig(**{**distilled, "model": "arch-searched"}, arch=SEARCHED_ARCH),
        ),  # fmt: skip
        # A2D Fig. 2's arms (SEARCH_ARMS), as `workbench search` builds them
        "search-one-level": (
            train_a2c,
            SearchConfig(
                **soft,
                model="supernet-a2d",
                strategy="one-level",
                sampler="soft",
                distill="actor+critic",
                teacher=TEACHER,
                tag="one-level-soft-actor+critic",
            ),
        ),  # fmt: skip
        "search-vanilla-dnas": (
            train_a2c,
            SearchConfig(
                **soft,
                model="supernet-a3cs",
                space="a3cs",
                strategy="one-level",
                sampler="soft",
                distill="none",
                tag="one-level-soft-none",
            ),
        ),  # fmt: skip
        "search-one-level-hard": (
            train_a2c,
            SearchConfig(
                **search,
                model="supernet-a3cs",
                space="a3cs",
                strategy="one-level",
                sampler="hard",
                distill="none",
                tag="one-level-hard-none",
            ),
        ),  # fmt: skip
        "search-bi-level": (
            train_a2c,
            SearchConfig(
                **soft,
                model="supernet-a3cs",
                space="a3cs",
                strategy="bi-level",
                sampler="soft",
                distill="actor+critic",
                teacher=TEACHER,
                tag="bi-level-soft-actor+critic",
            ),
        ),  # fmt: skip
        "search-bi-level-first-order": (
            train_a2c,
            SearchConfig(
                **search,
                model="supernet-a2d",
                strategy="bi-level-first-order",
                sampler="hard",
                distill="actor+critic",
                teacher=TEACHER,
                tag="bi-level-first-order-hard-actor+critic",
            ),
        ),  # fmt: skip
        # `workbench cosearch`: hard top-2, latency cost from DAS, an accelerator search every
        # 12 steps (at 0 and 12)
        "cosearch": (
            train_a2c,
            SearchConfig(
                **search,
                model="supernet-a2d",
                strategy="one-level",
                sampler="hard",
                distill="actor+critic",
                teacher=TEACHER,
                cost="latency",
                hw_interval=12,
                das_iterations=20,
                tag="one-level-hard-actor+critic-latency",
            ),
        ),  # fmt: skip
        "ppo-atari": (train_ppo, PPOConfig(**ppo, model="vanilla")),
        "ppo-procgen": (
            train_ppo,
            PPOConfig.procgen(
                "Starpilot",
                num_envs=2,
                rollout_length=16,
                epochs=1,
                minibatches=2,
                total_steps=96,
                checkpoint_interval=32,
                log_interval=32,
            ),
        ),  # fmt: skip
        "oneshot-spos": (
            train_oneshot,
            OneShotConfig(**oneshot, method="spos", model="supernet-space1"),
        ),  # fmt: skip
        "oneshot-enas": (
            train_oneshot,
            OneShotConfig(
                **enas,
                method="enas",
                model="supernet-space1",
                tag="enas",
                child_updates=2,
                children_per_step=2,
            ),
        ),  # fmt: skip
        # one row of the tabular benchmark (workbench sweep-space): architecture 3 of space 1
        "tabular": (
            train_ppo,
            PPOConfig(**oneshot, model="space1-a3", arch_index=3, tag="tabular"),
        ),  # fmt: skip
        "darts-search": (
            train_darts,
            DartsConfig(**darts, op_space="classic", alpha_log_interval=64),
        ),  # fmt: skip
        "darts-eval-cell": (
            train_darts,
            DartsConfig.evaluation(game, Genotype.from_json(DARTS_GENOTYPE), **darts_ppo),
        ),  # fmt: skip
        "darts-impala": (train_darts, DartsConfig.evaluation(game, None, **darts_ppo)),
    }
    return kinds


# --- running a kind and reading what it wrote ------------------------------------------------


def deterministic_settings(threads: int = 1) -> None:
    """One torch thread on the CPU: the setting the golden numbers were recorded with."""
    import torch

    os.environ["WORKBENCH_DEVICE"] = "cpu"
    torch.set_num_threads(threads)


def run_kind(kind: str, run_dir: Path, kinds: dict | None = None, **kwargs: Any) -> Any:
    """Train `kind`'s config into `run_dir` with its entry point; the TrainResult."""
    launcher, cfg = (kinds or build_kinds())[kind]
    return launcher(cfg, Path(run_dir), **kwargs)


def csv_logs(run_dir: Path) -> list[str]:
    """Names of the CSV logs in a run folder, sorted."""
    return sorted(p.name for p in Path(run_dir).glob("*.csv"))


def read_log(path: Path) -> tuple[list[str], list[list[str]]]:
    """(header, records) of a CSV log as raw text, timing columns left out."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return [], []
    keep = [i for i, name in enumerate(rows[0]) if name not in TIMING_COLUMNS]
    return [rows[0][i] for i in keep], [[r[i] for i in keep] for r in rows[1:]]


def weight_digests(run_dir: Path) -> dict[str, str]:
    """sha256 of the model in the run's last checkpoint: of all its tensors ("all") and of the
    tensors of each top-level module (backbone, actor, critic), over names, dtypes, shapes and
    bytes."""
    from workbench.runs.folder import load_checkpoint_file

    state = load_checkpoint_file(Path(run_dir) / "checkpoints" / "latest.pt")["model"]
    hashes: dict[str, Any] = {"all": hashlib.sha256()}
    for name in sorted(state):
        t = state[name].detach().cpu()
        data = f"{name}:{t.dtype}{tuple(t.shape)}:".encode() + t.reshape(-1).numpy().tobytes()
        hashes["all"].update(data)
        hashes.setdefault(name.split(".")[0], hashlib.sha256()).update(data)
    return {part: h.hexdigest() for part, h in sorted(hashes.items())}


def save_golden(run_dir: Path, dest: Path) -> None:
    """Store a finished run as golden data in `dest` (replaced whole)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copyfile(run_dir / "config.json", dest / "config.json")
    for name in csv_logs(run_dir):
        header, records = read_log(run_dir / name)
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)  # the DictWriter's dialect: the fields' text is unchanged
        writer.writerow(header)
        writer.writerows(records)
        (dest / name).write_text(buffer.getvalue(), newline="")
    (dest / WEIGHTS).write_text(json.dumps(weight_digests(run_dir), indent=1) + "\n")


def same_value(column: str, golden: str, now: str) -> bool:
    """Whether a logged value is the golden one: its text, or for a column changed on purpose,
    its number within that column's tolerance (empty fields must stay empty)."""
    if golden == now:
        return True
    if column not in CHANGED_ON_PURPOSE or not golden or not now:
        return False
    return math.isclose(float(golden), float(now), rel_tol=CHANGED_ON_PURPOSE[column])


def compare(golden: Path, run_dir: Path, max_cells: int = 10) -> list[str]:
    """Differences between golden data and a run folder (empty: equal bit for bit)."""
    problems: list[str] = []
    old_cfg = json.loads((golden / "config.json").read_text())
    new_cfg = json.loads((run_dir / "config.json").read_text())
    changed = {k: (v, new_cfg.get(k, "<missing>")) for k, v in old_cfg.items()
               if new_cfg.get(k, "<missing>") != v}  # fmt: skip
    if changed:  # fields added since (with their defaults) are allowed, as runs.py allows
        problems.append(f"config.json differs (golden, now): {changed}")
    old_logs, new_logs = csv_logs(golden), csv_logs(run_dir)
    if old_logs != new_logs:
        problems.append(f"CSV logs differ: golden {old_logs}, now {new_logs}")
    for name in sorted(set(old_logs) & set(new_logs)):
        old_header, old_rows = read_log(golden / name)
        new_header, new_rows = read_log(run_dir / name)
        if old_header != new_header:
            problems.append(f"{name}: columns differ: golden {old_header}, now {new_header}")
            continue
        if len(old_rows) != len(new_rows):
            problems.append(f"{name}: {len(old_rows)} rows in the golden log, {len(new_rows)} now")
        cells = []
        for r, (old, new) in enumerate(zip(old_rows, new_rows, strict=False)):
            if len(old) != len(new):
                cells.append(f"row {r}: {len(old)} fields in the golden log, {len(new)} now")
                continue
            pairs = zip(old_header, old, new, strict=True)
            cells += [f"row {r} {col}: golden {a!r}, now {b!r}" for col, a, b in pairs
                      if not same_value(col, a, b)]  # fmt: skip
        if cells:
            shown = "; ".join(cells[:max_cells])
            more = f" (and {len(cells) - max_cells} more)" if len(cells) > max_cells else ""
            problems.append(f"{name}: {len(cells)} values differ: {shown}{more}")
    old_weights = json.loads((golden / WEIGHTS).read_text())
    new_weights = weight_digests(run_dir)
    if old_weights != new_weights:
        parts = sorted(k for k in old_weights.keys() | new_weights.keys()
                       if old_weights.get(k) != new_weights.get(k))  # fmt: skip
        problems.append(f"{WEIGHTS}: the final weights differ (parts {parts})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="*", help="default: every kind")
    parser.add_argument("--out", type=Path, default=GOLDEN, help="default: tests/golden")
    parser.add_argument("--check", action="store_true", help="compare with --out, store nothing")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (golden: 1)")
    args = parser.parse_args(argv)
    import workbench  # before torch, as in any run: it sets libgomp's spin count

    deterministic_settings(args.threads)
    import torch

    print(f"workbench from {workbench.__file__}, {torch.get_num_threads()} torch threads",
          flush=True)  # fmt: skip
    kinds = build_kinds()
    unknown = sorted(set(args.kinds) - set(kinds))
    if unknown:
        parser.error(f"unknown kinds {unknown}; known: {sorted(kinds)}")
    failed = 0
    for kind in args.kinds or kinds:
        with tempfile.TemporaryDirectory(prefix=f"golden-{kind}-") as tmp:
            run_dir = Path(tmp) / "run"
            start = time.perf_counter()
            result = run_kind(kind, run_dir, kinds)
            seconds = time.perf_counter() - start
            if not result.completed:
                raise RuntimeError(f"{kind}: the run did not finish")
            if args.check:
                problems = compare(args.out / kind, run_dir)
                failed += bool(problems)
                status = "OK" if not problems else "DIFFERS\n  " + "\n  ".join(problems)
            else:
                save_golden(run_dir, args.out / kind)
                status = f"recorded {', '.join(csv_logs(run_dir))}"
            print(f"{kind}: {result.steps} steps in {seconds:.1f} s; {status}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
