"""RL-DARTS (workbench.darts): op spaces, cells and their shapes, Alg. 4 on hand-set alphas, the
App. G.1 search-space size, genotypes as JSON, random cells, bad input, and tiny searches on
real Procgen (alpha moves with PPO, exact resume, the CLI)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import torch

from workbench.cli import main
from workbench.darts.cell import DiscreteCell, SearchCell
from workbench.darts.config import DartsConfig
from workbench.darts.discretize import (
    cell_space_size,
    discretize,
    edge_label,
    edge_offset,
    num_edges,
    random_genotype,
    search_space_size,
)
from workbench.darts.genotype import Genotype
from workbench.darts.network import DartsCellNet, DartsSupernet
from workbench.darts.ops import UnknownOpError, get_op_space
from workbench.darts.search import build_darts_agent, read_alpha, read_cells, train_darts
from workbench.darts.study import darts_plan, sequence_indices
from workbench.names import UnknownNameError
from workbench.papers import (
    RLDARTS_CLASSIC_SEARCH_SPACE_SIZE,
    RLDARTS_TABLE4_PPO,
    RLDARTS_TABLE5A_PPO_CLASSIC,
    procgen_normalized_return,
)
from workbench.presets import get_preset
from workbench.runs.folder import load_checkpoint_file
from workbench.runs.kinds import agent_from_state
from workbench.viz.darts import cell_figure

CLASSIC, MICRO = get_op_space("classic"), get_op_space("micro")

# --- the search-space size (App. G.1) -------------------------------------------------------


def test_search_space_size_is_app_g1_formula() -> None:
    def paper(o_nz: int, nodes: int = 4, k: int = 2) -> int:  # O_nz * prod_{i=2..I} O^K C(i, K)
        return o_nz * math.prod(o_nz**k * math.comb(i, k) for i in range(2, nodes + 1))

    assert cell_space_size(5, 4) == paper(5) == 5 * 25**3 * 18
    assert cell_space_size(4, 4) == paper(4)
    classic = search_space_size("classic")
    assert classic == paper(5) * paper(4) == 414_720_000_000  # normal O_nz=5 x reduction O_nz=4
    assert classic == pytest.approx(RLDARTS_CLASSIC_SEARCH_SPACE_SIZE, rel=0.05)  # "4 x 10^11"
    assert search_space_size("micro") == paper(4)  # one normal cell, O_nz = 4
    assert search_space_size("classic", num_nodes=6) == paper(5, 6) * paper(4, 6)


def test_random_cells_are_uniform_over_the_discrete_space() -> None:
    # micro with I = 2: 4 (node 1) x 4^2 * C(2, 2) (node 2) = 64 cells
    assert search_space_size("micro", num_nodes=2) == 64
    counts = Counter(random_genotype("micro", seed, num_nodes=2).to_json() for seed in range(6400))
    assert len(counts) == 64
    assert min(counts.values()) > 50 and max(counts.values()) < 160  # mean 100
    assert random_genotype("classic", 7) == random_genotype("classic", 7)
    assert random_genotype("classic", 7) != random_genotype("classic", 8)
    for seed in range(20):
        g = random_genotype("classic", seed)
        assert [len(n) for n in g.normal] == [len(n) for n in g.reduce] == [1, 2, 2, 2]


# --- discretisation (Alg. 4) on hand-set alphas ---------------------------------------------


def _weights(ops: tuple[str, ...], choices: dict[int, tuple[str, float]]) -> torch.Tensor:
    """10 edges: Zero gets 0.5 everywhere (always the largest), the edge's chosen op its
    strength, the rest of the mass spread evenly over the other ops."""
    w = torch.zeros(num_edges(4), len(ops))
    for e in range(num_edges(4)):
        op, strength = choices.get(e, (ops[0], 0.1))
        w[e, ops.index("zero")] = 0.5
        w[e, ops.index(op)] = strength
        others = [o for o in range(len(ops)) if ops[o] not in ("zero", op)]
        w[e, others] = (0.5 - strength) / len(others)
    assert torch.allclose(w.sum(1), torch.ones(num_edges(4)))
    return w


def test_discretize_keeps_strongest_non_zero_op_and_top2_edges() -> None:
    n_ops, r_ops = CLASSIC.ops("normal"), CLASSIC.ops("reduce")
    e = {(j, i): edge_offset(i) + j for i in range(1, 5) for j in range(i)}
    normal = _weights(n_ops, {
        e[0, 1]: ("dil5x5_relu", 0.2),
        e[0, 2]: ("skip", 0.3), e[1, 2]: ("conv5x5_relu", 0.25),
        e[0, 3]: ("conv3x3_relu", 0.15), e[1, 3]: ("dil3x3_relu", 0.35), e[2, 3]: ("skip", 0.3),
        e[0, 4]: ("conv3x3_relu", 0.4), e[1, 4]: ("skip", 0.2), e[2, 4]: ("skip", 0.2),
        e[3, 4]: ("conv5x5_relu", 0.45),
    })  # fmt: skip
    reduce = _weights(r_ops, {
        e[0, 1]: ("maxpool3x3", 0.3),
        e[0, 2]: ("avgpool3x3", 0.3), e[1, 2]: ("conv3x3", 0.2),
        e[0, 3]: ("skip", 0.4), e[1, 3]: ("conv3x3", 0.35), e[2, 3]: ("maxpool3x3", 0.36),
        e[0, 4]: ("conv3x3", 0.2), e[1, 4]: ("conv3x3", 0.2), e[2, 4]: ("conv3x3", 0.2),
        e[3, 4]: ("avgpool3x3", 0.2),  # a four-way tie: the earliest inputs win
    })  # fmt: skip
    g = discretize({"normal": normal, "reduce": reduce}, "classic")
    assert g.normal == (
        (("dil5x5_relu", 0),),
        (("skip", 0), ("conv5x5_relu", 1)),
        (("dil3x3_relu", 1), ("skip", 2)),
        (("conv3x3_relu", 0), ("conv5x5_relu", 3)),
    )
    assert g.reduce == (
        (("maxpool3x3", 0),),
        (("avgpool3x3", 0), ("conv3x3", 1)),
        (("skip", 0), ("maxpool3x3", 2)),
        (("conv3x3", 0), ("conv3x3", 1)),
    )
    assert all(op != "zero" for cell in (g.normal, g.reduce) for node in cell for op, _ in node)
    # the rule reads softmax weights, and any alpha whose softmax they are gives the same cell
    alpha = {"normal": 5.0 * normal.log(), "reduce": 5.0 * reduce.log()}
    weights = {c: torch.softmax(a / 5.0, -1) for c, a in alpha.items()}
    assert discretize(weights, CLASSIC) == g


def test_zero_is_never_chosen_even_when_it_dominates_everywhere() -> None:
    for space in (CLASSIC, MICRO):
        weights = {}
        for cell_type in space.cell_types:
            w = torch.full((num_edges(4), len(space.ops(cell_type))), 1e-6)
            w[:, space.ops(cell_type).index("zero")] = 1.0
            weights[cell_type] = w
        g = discretize(weights, space)
        ops = [op for c in space.cell_types for node in g.cell(c) for op, _ in node]
        assert "zero" not in ops and len(ops) == 7 * len(space.cell_types)


def test_supernet_discretises_its_own_alpha() -> None:
    torch.manual_seed(0)
    net = DartsSupernet("micro", depth=4)
    with torch.no_grad():
        net.alpha["normal"].zero_()
        net.alpha["normal"][:, MICRO.ops("normal").index("tanh")] = 3.0
        net.alpha["normal"][edge_offset(4) + 3, MICRO.ops("normal").index("relu")] = 9.0
    g = net.genotype()
    assert g.normal[0] == (("tanh", 0),) and ("relu", 3) in g.normal[3]
    assert net.op_weights()["normal"].sum(-1).allclose(torch.ones(10))
    hot = torch.softmax(net.alpha["normal"] / 5.0, -1)
    assert torch.allclose(net.op_weights()["normal"], hot)  # temperature 5 divides alpha


def test_top2_pruning_needs_two_nodes_and_well_shaped_weights() -> None:
    with pytest.raises(ValueError, match="at least 2 intermediate nodes for top-2"):
        discretize({"normal": torch.rand(1, 5)}, "micro")
    with pytest.raises(ValueError, match="at least 2 intermediate nodes"):
        DartsSupernet("classic", num_nodes=1)
    with pytest.raises(ValueError, match="at least 2 intermediate nodes"):
        random_genotype("micro", 0, num_nodes=1)
    with pytest.raises(ValueError, match=r"\(edges, 5\)"):
        discretize({"normal": torch.rand(7, 5)}, "micro")
    with pytest.raises(ValueError, match="no reduce weights"):
        discretize({"normal": torch.rand(10, 6)}, "classic")
    assert [edge_label(i) for i in range(4)] == ["in->1", "in->2", "1->2", "in->3"]


# --- cells and encoders ---------------------------------------------------------------------


@pytest.mark.parametrize(("space", "cell_type"), [(CLASSIC, "normal"), (CLASSIC, "reduce"),
                                                  (MICRO, "normal")])  # fmt: skip
@pytest.mark.parametrize("size", [32, 21])
def test_cell_output_shapes(space, cell_type: str, size: int) -> None:
    x = torch.rand(2, 8, size, size)
    expected = (2, 8, size, size) if cell_type == "normal" else (2, 8, -(-size // 2), -(-size // 2))
    search = SearchCell(space, cell_type, 8, 4)
    weights = torch.softmax(torch.randn(10, len(space.ops(cell_type))), -1)
    assert search(x, weights).shape == expected
    g = random_genotype(space, 3)
    assert DiscreteCell(space, cell_type, 8, g.cell(cell_type))(x).shape == expected
    with pytest.raises(ValueError, match="weights for 10 edges"):
        search(x, weights[:6])


def test_discrete_cell_is_the_supernet_cell_with_one_hot_weights() -> None:
    torch.manual_seed(1)
    g = random_genotype("classic", 11)
    for cell_type in ("normal", "reduce"):
        ops = CLASSIC.ops(cell_type)
        search = SearchCell(CLASSIC, cell_type, 6, 4)
        discrete = DiscreteCell(CLASSIC, cell_type, 6, g.cell(cell_type))
        weights = torch.zeros(10, len(ops))
        weights[:, ops.index("zero")] = 1.0
        for i, node in enumerate(g.cell(cell_type), start=1):
            for k, (op, j) in enumerate(node):
                e = edge_offset(i) + j
                weights[e] = 0.0
                weights[e, ops.index(op)] = 1.0
                discrete.nodes[i - 1][k].load_state_dict(search.edges[e].ops[ops.index(op)]
                                                         .state_dict())  # fmt: skip
        discrete.output.load_state_dict(search.output.state_dict())
        x = torch.rand(2, 6, 16, 16)
        assert torch.allclose(search(x, weights), discrete(x), atol=1e-5)


@pytest.mark.parametrize("op_space", ["classic", "micro"])
def test_encoders_are_stacked_as_impala_cnn(op_space: str) -> None:
    x = torch.rand(2, 3, 64, 64)
    supernet = DartsSupernet(op_space, depth=4, blocks=3)
    assert supernet(x).shape == (2, 256) and supernet.stack.head[2].in_features == 4 * 8 * 8
    kinds = [type(m).__name__ for m in supernet.stack.layers]
    if op_space == "classic":  # initial Conv3x3, then (reduce, normal) x 3
        assert kinds == ["Conv2d"] + ["SearchCell"] * 6
        assert [m.cell_type for m in supernet.stack.layers[1:]] == ["reduce", "normal"] * 3
    else:  # IMPALA-CNN's conv3x3 + max-pool, then 2 normal cells, x 3
        assert kinds == ["Conv2d", "MaxPool2d", "SearchCell", "SearchCell"] * 3
    cells = DartsCellNet(random_genotype(op_space, 0), depth=8, blocks=3)
    assert cells(x).shape == (2, 256) and cells.stack.head[2].in_features == 8 * 8 * 8
    wide = DartsCellNet(random_genotype(op_space, 0), depth=64)
    assert wide.stack.head[2].in_features == 64 * 8 * 8


def test_alpha_and_weights_are_disjoint_and_cover_the_supernet() -> None:
    net = DartsSupernet("classic", depth=4)
    arch, weights = net.arch_parameters(), net.weight_parameters()
    assert {id(p) for p in arch}.isdisjoint(id(p) for p in weights)
    assert {id(p) for p in arch} | {id(p) for p in weights} == {id(p) for p in net.parameters()}
    assert [tuple(p.shape) for p in arch] == [(10, 6), (10, 5)]
    assert 0 < arch[0].abs().max() < 0.01  # DARTS's 1e-3 * N(0, 1) start


# --- op spaces, genotypes and configs: bad input --------------------------------------------


def test_ops_outside_the_op_space_are_refused() -> None:
    with pytest.raises(UnknownOpError, match="'conv7x7' is not in the normal ops of op space "
                       "'classic'; valid ops: conv3x3_relu, conv5x5_relu"):  # fmt: skip
        CLASSIC.make_op("conv7x7", 8, 1)
    with pytest.raises(ValueError, match="reduce ops of op space 'classic'.*maxpool3x3"):
        CLASSIC.check_op("tanh", "reduce")
    with pytest.raises(ValueError, match="normal ops of op space 'micro'"):
        Genotype("micro", [[["conv3x3_relu", 0]], [["relu", 0], ["tanh", 1]]])
    with pytest.raises(UnknownNameError, match="Did you mean: micro"):
        get_op_space("mirco")
    with pytest.raises(ValueError, match="cell type of op space 'micro'"):
        MICRO.ops("reduce")


def test_genotype_json_round_trip() -> None:
    for space in ("classic", "micro"):
        for seed in range(5):
            g = random_genotype(space, seed)
            text = g.to_json()
            assert Genotype.from_json(text) == g and Genotype.from_json(text).to_json() == text
            assert Genotype.from_dict(json.loads(json.dumps(g.to_dict()))) == g
            assert len(g.key()) == 8 and g.key() == Genotype.from_json(text).key()
    g = Genotype("micro", [[["tanh", 0]], [["conv3x3", 1], ["skip", 0]]])
    assert g.normal[1] == (("skip", 0), ("conv3x3", 1))  # edges sorted by input
    assert g.label() == "1: tanh(in) | 2: skip(in) + conv3x3(1)"


@pytest.mark.parametrize(
    ("normal", "match"),
    [
        ([[["relu", 1]]], "node 1 reads input 1"),
        ([[["relu", 0]], [["relu", 0], ["tanh", 0]]], "reads an input twice"),
        ([[["zero", 0]]], "Zero is an absent edge"),
        ([[["relu", 0]], []], "node 2 has no incoming edge"),
        ([[["relu", "a"]]], "lists of \\[op, input\\] pairs"),
    ],
)
def test_bad_genotypes_are_refused(normal: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Genotype("micro", normal)


def test_genotype_cell_types_must_match_the_op_space() -> None:
    with pytest.raises(ValueError, match="needs 1 reduce nodes"):
        Genotype("classic", [[["skip", 0]]])
    with pytest.raises(ValueError, match="has no reduction cell"):
        Genotype("micro", [[["skip", 0]]], [[["skip", 0]]])
    with pytest.raises(ValueError, match="keys"):
        Genotype.from_dict({"normal": []})


def test_config_refuses_bad_input() -> None:
    with pytest.raises(UnknownNameError, match="unknown Procgen game 'Starpilt'.*Starpilot"):
        DartsConfig(game="Starpilt")
    with pytest.raises(ValueError, match="at least 2 intermediate nodes"):
        DartsConfig(num_nodes=1)
    with pytest.raises(ValueError, match="needs a genotype"):
        DartsConfig(encoder="cell")
    with pytest.raises(ValueError, match="takes no genotype"):
        DartsConfig(genotype=random_genotype("classic", 0).to_json())
    with pytest.raises(ValueError, match="config says 4 nodes of 'classic'"):
        DartsConfig(encoder="cell", genotype=random_genotype("micro", 0).to_json())
    with pytest.raises(ValueError, match="temperature"):
        DartsConfig(temperature=0.0)
    with pytest.raises(UnknownNameError, match="RL-DARTS encoder"):
        DartsConfig(encoder="resnet")
    assert DartsConfig().model == "darts-classic-16x3" and DartsConfig().minibatch_size == 256
    g = random_genotype("classic", 0)
    evaluation = DartsConfig.evaluation("Dodgeball", g)
    assert (evaluation.depth, evaluation.lr, evaluation.epochs) == (64, 1e-4, 1)
    assert evaluation.model == f"cell-{g.key()}-64x3" and evaluation.cell() == g
    assert DartsConfig.evaluation("Dodgeball").model == "impala-64x3"


def test_paper_numbers() -> None:
    columns = list(zip(*RLDARTS_TABLE5A_PPO_CLASSIC.values(), strict=True))
    assert len(columns[0]) == 16
    for method, column in zip(RLDARTS_TABLE4_PPO, columns, strict=True):
        assert sum(column) / 16 == pytest.approx(RLDARTS_TABLE4_PPO[method], abs=0.01)
    assert procgen_normalized_return("Starpilot", 64.0) == 1.0
    assert procgen_normalized_return("Dodgeball", 1.5) == 0.0
    with pytest.raises(UnknownNameError):
        procgen_normalized_return("Breakout", 1.0)


def test_study_plan_states_its_budget_and_checks_games() -> None:
    plan = darts_plan(get_preset("smoke").for_study("darts"))
    assert plan.games == ("Dodgeball",) and plan.steps == 128 and plan.eval_depth == 16
    assert "preset=smoke" in plan.caption() and "4.15e+11 cells" in plan.caption()
    cfg = plan.eval_config("Dodgeball", 0, random_genotype("classic", 0))
    assert (cfg.depth, cfg.lr, cfg.epochs, cfg.total_steps) == (16, 1e-4, 1, 128)
    paper = darts_plan(get_preset("paper").for_study("darts"))
    assert len(paper.games) == 16 and paper.seeds == (0, 1, 2) and paper.eval_depth == 64
    assert paper.search_config("Maze", 1).minibatch_size == 256
    with pytest.raises(UnknownNameError, match="Did you mean: Starpilot"):
        darts_plan(get_preset("smoke").for_study("darts"), games=["Starpilt"])


def test_sequence_indices_and_cell_figure() -> None:
    assert sequence_indices(2, 9) == [0, 1]
    assert sequence_indices(10, 3) == [0, 4, 9] and sequence_indices(10, 1) == [0]
    fig = cell_figure(random_genotype("classic", 2), "t", "caption")
    assert fig.layout.meta == "darts-cell" and len(fig.layout.annotations) == 2 + 2 * 2 * 7


# --- on real Procgen ------------------------------------------------------------------------

TINY = dict(
    game="Dodgeball", total_steps=128, num_envs=4, rollout_length=16, epochs=1, minibatches=2,
    depth=4, blocks=2, checkpoint_interval=64, log_interval=64, alpha_log_interval=64,
)  # fmt: skip


def _train(cfg: DartsConfig, path: Path, **kwargs):
    pytest.importorskip("envpool")
    try:
        return train_darts(cfg, path, progress=False, **kwargs)
    except RuntimeError as exc:  # envpool's Procgen needs the Qt 5 runtime (SPEC §1)
        if "Qt" in str(exc):
            pytest.skip(str(exc))
        raise


def test_ppo_moves_alpha_and_records_the_cells(tmp_path: Path) -> None:
    cfg = DartsConfig(**TINY)
    result = _train(cfg, tmp_path / "search")
    assert result.completed
    torch.manual_seed(cfg.seed)
    start = build_darts_agent(cfg, 15).backbone  # the same seeded initialisation
    state = load_checkpoint_file(tmp_path / "search" / "checkpoints" / "latest.pt")
    for cell_type in ("normal", "reduce"):
        before, after = start.alpha[cell_type], state["model"][f"backbone.alpha.{cell_type}"]
        assert before.shape == after.shape and not torch.equal(before, after)  # one-level
        assert (after - before).abs().max() < 0.01  # two updates of Adam at 5e-4
    alpha = read_alpha(tmp_path / "search")
    assert sorted(set(alpha["step"])) == [0, 64, 128]
    assert len(alpha) == 3 * (10 * 6 + 10 * 5)
    sums = alpha.groupby(["step", "cell_type", "edge"])["weight"].sum()
    assert sums.between(1 - 1e-5, 1 + 1e-5).all()
    cells = read_cells(tmp_path / "search")
    assert cells["step"].iloc[0] == 0 and list(cells["cell"]) == list(range(len(cells)))
    assert cells["step"].is_monotonic_increasing and cells["genotype"].is_unique
    assert Genotype.from_json(cells["genotype"].iloc[0]) == start.genotype()
    metrics = pd.read_csv(tmp_path / "search" / "metrics.csv")
    assert list(metrics["step"]) == [64, 128] and "cell" in metrics
    assert json.loads((tmp_path / "search" / "wallclock.json").read_text())["seconds"] > 0
    agent = agent_from_state(state)  # checkpoints rebuild into agents
    assert agent.backbone.genotype() == Genotype.from_json(cells["genotype"].iloc[-1])
    from workbench.viz.inspector import is_search_run

    assert not is_search_run(tmp_path / "search")  # not an A2D search run for the inspector


def test_search_resumes_exactly(tmp_path: Path) -> None:
    cfg = DartsConfig(**{**TINY, "op_space": "micro", "tag": "resume"})
    _train(cfg, tmp_path / "whole")
    first = _train(cfg, tmp_path / "resumed", stop_after_segments=1)
    assert not first.completed and first.steps == 64
    assert _train(cfg, tmp_path / "resumed").completed
    whole, resumed = (load_checkpoint_file(tmp_path / r / "checkpoints" / "latest.pt")
                      for r in ("whole", "resumed"))  # fmt: skip
    assert all(torch.equal(whole["model"][k], resumed["model"][k]) for k in whole["model"])
    assert whole["schedule"] == resumed["schedule"]
    for log in ("alpha.csv", "cells.csv", "episodes.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "whole" / log),
                                      pd.read_csv(tmp_path / "resumed" / log))  # fmt: skip


def test_cli_search_evaluate_random(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("envpool")
    tiny = "--game Dodgeball --steps 64 --num-envs 4 --rollout-length 16 --minibatches 2 --blocks 1"
    code = main(["darts", "search", *tiny.split(), "--depth", "4", "--op-space", "micro",
                 "--out", str(tmp_path)])  # fmt: skip
    if code == 2 and "Qt" in capsys.readouterr().err:
        pytest.skip("envpool's Procgen needs the Qt 5 runtime")
    assert code == 0 and "distinct discrete cells" in capsys.readouterr().out
    [search] = tmp_path.glob("Dodgeball__darts-micro-4x1__darts__s0")
    code = main(["darts", "evaluate", *tiny.split(), "--depth", "4", "--run", str(search),
                 "--out", str(tmp_path)])  # fmt: skip
    final = Genotype.from_json(read_cells(search)["genotype"].iloc[-1])
    assert code == 0 and (tmp_path / f"Dodgeball__cell-{final.key()}-4x1__darts-eval__s0").is_dir()
    code = main(["darts", "random", *tiny.split(), "--depth", "4", "--count", "1",
                 "--out", str(tmp_path)])  # fmt: skip
    assert code == 0 and "best random cell" in capsys.readouterr().out
    assert main(["darts", "search", "--game", "Starpilt", "--out", str(tmp_path)]) == 2
    assert "Did you mean: Starpilot" in capsys.readouterr().err
