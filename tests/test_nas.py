"""Differentiable search pieces (SPEC §5-6): ops, spaces, samplers, supernet and MACs cost."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from workbench.models import ActorCritic, create_model
from workbench.models.profile import count_macs
from workbench.names import UnknownNameError
from workbench.nas import (
    OPS,
    RESNET_LIKE_A2D,
    RESNET_LIKE_A3CS,
    ArchitectureError,
    ArgmaxSampler,
    HardGumbelTopK,
    SoftGumbel,
    Supernet,
    arch_macs,
    backbone_macs,
    build_model,
    build_op,
    cheapest_arch,
    cost_loss,
    expected_macs,
    get_arch,
    get_space,
    load_arch,
    op_macs_table,
    random_arch,
    save_arch,
    temperature,
    validate_arch,
)

SMALL = (2, 4, 32, 32)  # supernet gradient tests: any frame size works, 32x32 keeps them fast


def frames(shape: tuple[int, ...] = SMALL, seed: int = 0) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


# --- ops and spaces -------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("cin,cout,stride", [(16, 16, 1), (16, 32, 2), (32, 64, 2)])
def test_every_op_shape(name: str, cin: int, cout: int, stride: int) -> None:
    op = build_op(name, cin, cout, stride)
    out = op(torch.rand(1, cin, 21, 21))
    assert out.shape == (1, cout, 11 if stride == 2 else 21, 11 if stride == 2 else 21)


def test_skip_is_free_and_ir_e1_has_no_expansion() -> None:
    assert sum(p.numel() for p in build_op("skip", 16, 32, 2).parameters()) == 0
    convs = [m for m in build_op("ir3_e1", 16, 16, 1).modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.groups for c in convs] == [16, 1]  # depthwise then project, no 1x1 expansion


def test_space_geometry() -> None:
    a2d, a3cs = get_space("a2d"), get_space("a3cs")
    assert (a2d.num_cells, a3cs.num_cells) == (14, 12)
    assert a2d.cell_labels == tuple(f"cell_{i}" for i in range(14))
    strided = [c.label for c in a2d.cells if c.stride == 2]
    assert strided == ["cell_5", "cell_9"]
    assert [a2d.cells[i].input_size for i in (0, 5, 6, 9, 10)] == [42, 42, 21, 21, 11]
    assert (a2d.cells[9].in_channels, a2d.cells[9].out_channels) == (32, 64)
    with pytest.raises(UnknownNameError, match="a2d"):
        get_space("a2")


def test_named_archs() -> None:
    assert set(RESNET_LIKE_A2D.values()) == {"conv3"} and len(RESNET_LIKE_A3CS) == 12
    assert get_arch("cheapest_a3cs") == cheapest_arch("a3cs")
    with pytest.raises(UnknownNameError):
        get_arch("resnet_like")


# --- validation and files -----------------------------------------------------------------


def test_unknown_op_names_the_cell_and_the_valid_ops() -> None:
    arch = dict(RESNET_LIKE_A2D, cell_3="ir3_e4")
    with pytest.raises(ArchitectureError, match="cell_3") as err:
        validate_arch(arch, "a2d")
    assert all(op in str(err.value) for op in OPS)
    with pytest.raises(ArchitectureError) as err:  # one bad op in every cell: explained once
        validate_arch(dict.fromkeys(RESNET_LIKE_A2D, "ir5_e6"), "a2d")
    message = str(err.value)
    assert message.count("Valid ops") == 1 and "cell_0, cell_1," in message and "cell_13" in message


def test_missing_and_extra_cells_are_named() -> None:
    arch = dict(RESNET_LIKE_A2D)
    del arch["cell_7"]
    with pytest.raises(ArchitectureError, match="missing cells: cell_7"):
        validate_arch(arch, "a2d")
    with pytest.raises(ArchitectureError, match="cell_14"):
        validate_arch(dict(RESNET_LIKE_A2D, cell_14="skip"), "a2d")
    with pytest.raises(ArchitectureError, match="cell_12"):
        validate_arch(dict(RESNET_LIKE_A3CS, cell_12="skip"), "a3cs")


def test_arch_files_round_trip(tmp_path) -> None:
    arch = random_arch("a3cs", seed=3)
    path = save_arch(arch, tmp_path / "arch.json")
    assert json.loads(path.read_text()) == {"space": "a3cs", "arch": arch}
    assert load_arch(path) == arch
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(RESNET_LIKE_A2D))
    assert load_arch(bare) == RESNET_LIKE_A2D
    bare.write_text(json.dumps({f"cell_{i}": "skip" for i in range(13)}))
    with pytest.raises(ArchitectureError, match="13 cells"):
        load_arch(bare)
    bare.write_text(json.dumps({"space": "a3cs", "arch": RESNET_LIKE_A2D}))
    with pytest.raises(ArchitectureError, match="cell_13"):
        load_arch(bare)


# --- samplers -----------------------------------------------------------------------------


def test_temperature_schedule() -> None:
    assert temperature(0) == 5.0
    assert temperature(2e7) == pytest.approx(0.088, abs=1e-3)
    assert temperature(1e5) == pytest.approx(4.9)
    with pytest.raises(ValueError):
        temperature(-1)


def chi_square(counts: torch.Tensor, probs: torch.Tensor) -> float:
    expected = probs * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("sampler", [SoftGumbel(), HardGumbelTopK(2)])
def test_gumbel_argmax_frequencies_match_softmax(sampler) -> None:
    """Gumbel-max: the argmax of the perturbed logits is distributed as softmax(alpha)."""
    alpha = torch.randn(9, generator=torch.Generator().manual_seed(1))
    draws = 20_000
    sample = sampler(alpha.expand(draws, 9), 1.0, torch.Generator().manual_seed(2))
    counts = torch.bincount(sample.weights.argmax(dim=-1), minlength=9).double()
    assert counts.tolist() == torch.bincount(torch.tensor(sample.chosen), minlength=9).tolist()
    assert chi_square(counts, torch.softmax(alpha.double(), -1)) < 26.1  # 0.999 quantile, 8 dof


def test_samples_are_reproducible_from_the_generator() -> None:
    alpha = torch.zeros(12, 9)
    a, b = (SoftGumbel()(alpha, 1.0, torch.Generator().manual_seed(7)) for _ in range(2))
    assert torch.equal(a.weights, b.weights)


def test_sampler_errors() -> None:
    for k in (0, 1, 9, 10):
        with pytest.raises(ValueError, match="1 < k < 9"):
            HardGumbelTopK(k)
    for sampler in (SoftGumbel(), HardGumbelTopK(2)):
        for tau in (0.0, -1.0):
            with pytest.raises(ValueError, match="tau"):
                sampler(torch.zeros(3, 9), tau)


def test_hard_weights_are_exactly_one_hot_in_value() -> None:
    sample = HardGumbelTopK(3)(torch.randn(14, 9), 0.7, torch.Generator().manual_seed(0))
    chosen = torch.tensor(sample.chosen)
    assert torch.equal(sample.weights, torch.nn.functional.one_hot(chosen, 9).float())
    assert all(len(a) == 3 and a[0] == c for a, c in zip(sample.active, sample.chosen, strict=True))


# --- supernet -----------------------------------------------------------------------------


def test_hard_forward_equals_the_chosen_path_exactly() -> None:
    net = Supernet("a3cs")
    with torch.no_grad():
        net.alpha.normal_(generator=torch.Generator().manual_seed(0))
    x = frames()
    sample = net.sample(HardGumbelTopK(2), 1.0, torch.Generator().manual_seed(1))
    out = net.forward_with(x, sample)
    assert torch.equal(out, net.forward_arch(x, net.chosen_arch(sample)))
    cell, h = net.cells[0], net.stem(x)
    chosen = cell.ops[net.space.ops[sample.chosen[0]]](h)
    assert torch.equal(cell(h, sample.weights[0], sample.active[0]), chosen)


@pytest.mark.parametrize("k", [2, 3])
def test_top_k_gradients_reach_exactly_k_ops_per_cell(k: int) -> None:
    net = Supernet("a3cs")
    out = net(frames(), HardGumbelTopK(k), 1.0, torch.Generator().manual_seed(k))
    out.pow(2).sum().backward()
    nonzero = (net.alpha.grad != 0).sum(dim=1)
    assert nonzero.tolist() == [k] * net.space.num_cells
    active = torch.zeros_like(net.alpha, dtype=torch.bool)
    for cell, ops in enumerate(net.last_sample.active):
        active[cell, list(ops)] = True
    assert torch.equal(net.alpha.grad != 0, active)


def test_hard_top_k_non_chosen_ops_run_without_a_graph_and_give_the_same_gradients() -> None:
    """The non-chosen active op runs under no_grad: alpha and chosen-op gradients are unchanged."""

    def full_graph(net: Supernet, x: torch.Tensor, sample) -> torch.Tensor:
        h = net.stem(x)
        for cell, w, active in zip(net.cells, sample.weights, sample.active, strict=True):
            h = sum(w[i] * cell.ops[net.space.ops[i]](h) for i in active)
        return net.head(h)

    net, x = Supernet("a3cs"), frames()
    sample = net.sample(HardGumbelTopK(3), 1.0, torch.Generator().manual_seed(2))
    grads = []
    for forward in (net.forward_with, lambda x, s: full_graph(net, x, s)):
        net.zero_grad(set_to_none=True)
        forward(x, sample).pow(2).sum().backward(retain_graph=True)
        grads.append({n: p.grad for n, p in net.named_parameters()})
    fast, reference = grads
    assert torch.allclose(fast["alpha"], reference["alpha"], rtol=1e-4, atol=1e-6)
    for cell, (chosen, active) in enumerate(zip(sample.chosen, sample.active, strict=True)):
        for i in active:
            prefix = f"cells.{cell}.ops.{net.space.ops[i]}."
            names = [n for n in fast if n.startswith(prefix)]
            if i == chosen:
                assert all(torch.allclose(fast[n], reference[n], atol=1e-6) for n in names)
            else:  # no graph: no gradient at all, where the full graph gave exact zeros
                assert all(fast[n] is None and not reference[n].any() for n in names)


def test_soft_gradients_reach_every_op() -> None:
    net = Supernet("a3cs")
    net(frames(), SoftGumbel(), 1.0, torch.Generator().manual_seed(0)).pow(2).sum().backward()
    assert bool((net.alpha.grad != 0).all())


def test_parameter_groups_are_disjoint_and_cover() -> None:
    net = Supernet("a2d")
    arch, weights = net.arch_parameters(), net.weight_parameters()
    assert [id(p) for p in arch] == [id(net.alpha)]
    assert not {id(p) for p in arch} & {id(p) for p in weights}
    assert sorted(map(id, arch + weights)) == sorted(map(id, net.parameters()))
    assert len(arch) + len(weights) == len(list(net.parameters()))


def test_alpha_logging_helpers() -> None:
    net = Supernet("a2d")
    probs = net.probabilities()
    assert probs.shape == (14, 9) and probs.to_numpy().sum(axis=1) == pytest.approx(1.0)
    assert net.alpha_entropy() == pytest.approx(math.log(9)) == pytest.approx(net.max_entropy())
    with torch.no_grad():
        net.alpha[:7, OPS.index("skip")] = 1.0
        net.alpha[7:, OPS.index("ir5_e3")] = 1.0
    assert net.skip_share() == 0.5
    assert net.derive() == {f"cell_{i}": "skip" if i < 7 else "ir5_e3" for i in range(14)}
    assert ArgmaxSampler()(net.alpha).chosen == tuple(OPS.index(op) for op in net.derive().values())


def test_supernet_is_an_actor_critic_backbone() -> None:
    agent = ActorCritic(Supernet("a3cs"), 4)
    obs = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    with pytest.raises(RuntimeError, match="set_sampling"):
        agent(obs)
    agent.backbone.set_sampling(HardGumbelTopK(2), temperature(0), torch.Generator().manual_seed(0))
    logits, values = agent(obs)
    assert logits.shape == (2, 4) and values.shape == (2,)
    assert agent.backbone.last_sample is not None
    assert copy.deepcopy(agent).backbone.last_sample is None  # DARTS' unrolled step copies it


def test_built_model_is_an_actor_critic_backbone() -> None:
    agent = ActorCritic(build_model(RESNET_LIKE_A2D), 4)
    logits, values = agent(torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8))
    assert logits.shape == (2, 4) and values.shape == (2,)


# --- cost ---------------------------------------------------------------------------------


ARCHS = [
    RESNET_LIKE_A2D,
    cheapest_arch("a2d"),
    random_arch("a2d", 0),
    random_arch("a2d", 1),
    random_arch("a2d", 2),
    RESNET_LIKE_A3CS,
    random_arch("a3cs", 0),
]


@pytest.mark.parametrize("arch", ARCHS, ids=range(len(ARCHS)))
def test_table_macs_equal_the_profiler(arch: dict[str, str]) -> None:
    assert arch_macs(arch) == count_macs(build_model(arch))


def test_supernet_derived_model_macs() -> None:
    net = Supernet("a2d")
    with torch.no_grad():
        net.alpha.normal_(generator=torch.Generator().manual_seed(5))
    arch = net.derive()
    assert arch_macs(arch) == count_macs(build_model(arch))
    table = op_macs_table("a2d")
    one_hot = ArgmaxSampler()(net.alpha).weights
    assert float(expected_macs(one_hot, table)) == arch_macs(arch)


def test_macs_table() -> None:
    table = op_macs_table("a2d")
    assert table.shape == (14, 9) and list(table.columns) == list(OPS)
    assert (table.idxmin(axis=1) == "skip").all() and (table["skip"] == 0).all()
    assert table.attrs["fixed_macs"] == 4 * 16 * 9 * 42 * 42 + 64 * 256  # stem + FC
    assert backbone_macs() == count_macs(create_model("resnet20"))


def test_cost_alone_drives_every_cell_to_skip() -> None:
    net = Supernet("a2d")
    table = op_macs_table("a2d")
    optimizer = torch.optim.Adam(net.arch_parameters(), lr=1e-1)
    generator = torch.Generator().manual_seed(0)
    for _ in range(100):
        sample = net.sample(SoftGumbel(), 1.0, generator)
        loss = 10.0 * cost_loss(sample, table)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert net.derive() == cheapest_arch("a2d")
    assert net.skip_share() == 1.0


def test_cost_loss_unit_is_resnet20_macs() -> None:
    table = op_macs_table("a3cs")
    one_hot = ArgmaxSampler()(torch.zeros(12, 9)).weights  # all conv3
    expected = arch_macs(RESNET_LIKE_A3CS) / count_macs(create_model("resnet20"))
    assert float(cost_loss(one_hot, table)) == pytest.approx(expected)
    with pytest.raises(ValueError, match="do not match"):
        expected_macs(torch.zeros(14, 9), table)
