"""The laptop RL-DARTS study's trainings on two 1-thread lanes; notebook 07 then reuses them.

`run_darts_study` trains its runs one after another. On 2 cores, two 1-thread runs at once give
more steps per second in all than one 2-thread run, so the laptop study's runs were made with
this script, with the same configs as the study (its plan's methods), so notebook 07 finds them
finished and only reads them. Every run still uses 1 thread, so the supernet's wall-clock and the
random cells' (the random-search budget) are measured alike.
The laptop plan has one game and one seed (its first are used).
  lane A: the supernet, then every other cell of the search's sequence (the final cell first)
  lane B: IMPALA-CNN 16x3, the random cells, IMPALA-CNN and the best random cell at the
          evaluation depth, then the rest of the sequence
Usage (from the repository root): for L in A B; do OMP_NUM_THREADS=1 python
examples/darts_laptop_lanes.py $L & done; wait
"""

import sys
import time
from pathlib import Path

import torch

from workbench.darts.discretize import random_genotype
from workbench.darts.genotype import Genotype
from workbench.darts.search import read_cells, run_score
from workbench.darts.study import _train, darts_plan, sequence_indices
from workbench.presets import get_preset
from workbench.runs.folder import run_name

torch.set_num_threads(1)
lane = sys.argv[1]
runs = Path("runs/laptop")
plan = darts_plan(get_preset("laptop").for_study("darts"))
game, seed = plan.games[0], plan.seeds[0]
search_cfg = plan.search_config(game, seed)
search_dir = runs / run_name(search_cfg.game, search_cfg.model, search_cfg.tag, seed)


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), lane, msg, flush=True)


def wait_for(path: Path) -> None:
    while not (path / "result.json").exists():
        time.sleep(20)


if lane == "A":
    log("supernet")
    _train(search_cfg, runs, False)
else:
    log("impala 16x3")
    _train(plan.search_depth_config(game, seed, None), runs, False)
    paths = []
    for i in range(plan.max_random_cells):
        log(f"random cell {i}")
        g = random_genotype(plan.op_space, seed=1000 * seed + i)
        paths.append((g, _train(plan.search_depth_config(game, seed, g), runs, False)))
    log("impala eval")
    _train(plan.eval_config(game, seed, None), runs, False)
    best = max(paths, key=lambda p: run_score(p[1]))[0]
    log("best random eval")
    _train(plan.eval_config(game, seed, best), runs, False)
wait_for(search_dir)
cells = read_cells(search_dir)
idx = sequence_indices(len(cells), plan.sequence_cells)[::-1]  # final cell first
mine = idx[0::2] if lane == "A" else idx[1::2]
for i in mine:
    log(f"sequence cell {i} of {len(cells)}")
    _train(plan.eval_config(game, seed, Genotype.from_json(cells.iloc[i]["genotype"])), runs, False)
log("done")
