"""One-shot search (Mazyavkina et al.): the spaces, SPOS weight sharing that really trains, the
ENAS controller, random search against its closed form, Kendall's tau, the tabular benchmark,
and tiny searches on real Breakout."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from workbench.config import PPOConfig
from workbench.models import ActorCritic, create_model
from workbench.models.profile import count_params
from workbench.oneshot.cli import main_sweep_space
from workbench.oneshot.config import OneShotConfig
from workbench.oneshot.enas import (
    Controller,
    ControllerSchedule,
    enas_proxy,
    reinforce_loss,
    update_baseline,
)
from workbench.oneshot.random_search import best_of_k_pmf, expected_best_of_k, random_search
from workbench.oneshot.search import search_proxy, train_oneshot
from workbench.oneshot.selection import kendall_tau, proxy_tau, select_architecture, top_k
from workbench.oneshot.spaces import (
    ArchitectureIndexError,
    OneShotSupernet,
    all_architectures,
    build_space_model,
    get_space,
)
from workbench.oneshot.spos import UniformPaths
from workbench.oneshot.study import candidate_archs, enas_child_schedule
from workbench.oneshot.tabular import TabularError, load_tabular, run_metrics
from workbench.rl.ppo import Rollout, ppo_update
from workbench.runs.folder import CheckpointError, load_checkpoint_file

# --- the spaces -----------------------------------------------------------------------------


def test_space_sizes_and_index_round_trip() -> None:
    s1, s2 = get_space(1), get_space("space2")
    assert (len(s1), len(s2)) == (25, 32)
    for space in (s1, s2):
        archs = all_architectures(space)
        assert len(set(archs)) == len(space)
        for index, kernels in enumerate(archs):
            assert space.kernels(index) == kernels and space.index(kernels) == index
    assert s1.kernels(0) == (1, 1) and s1.kernels(24) == (5, 5) and s1.kernels(5) == (2, 1)
    assert s2.kernels(0) == (2,) * 5 and s2.index((5, 5, 5, 2, 2)) == 28  # Tab. 8's Breakout best


@pytest.mark.parametrize("bad", [-1, 25, 1.5, True, "3"])
def test_architecture_outside_the_space_is_refused(bad: object) -> None:
    with pytest.raises(ArchitectureIndexError):
        get_space(1).kernels(bad)
    with pytest.raises(ArchitectureIndexError):
        build_space_model(1, bad)


def test_kernels_outside_the_space_are_refused() -> None:
    with pytest.raises(ArchitectureIndexError, match="not in search space 2"):
        get_space(2).index((3, 3, 3, 3, 3))
    with pytest.raises(ArchitectureIndexError, match="searchable layers"):
        get_space(1).index((4,))
    with pytest.raises(ValueError, match="unknown one-shot search space"):
        get_space(7)


def test_nature_cnn_is_architecture_17_of_space_1() -> None:
    space = get_space(1)
    assert space.nature_index == 17 and space.kernels(17) == (4, 3)
    assert get_space(2).nature_index is None
    member, vanilla = build_space_model(1, 17), create_model("vanilla")
    convs = [m for m in vanilla.features if isinstance(m, torch.nn.Conv2d)]
    assert count_params(torch.nn.ModuleList([member.stem, *member.convs])) == sum(
        count_params(c) for c in convs
    )
    for ours, theirs in zip([member.stem, *member.convs], convs, strict=True):
        ours.load_state_dict(theirs.state_dict())
    x = torch.rand(3, 4, 84, 84)
    features = member.conv_features(x)
    assert features.shape == (3, 64, 7, 7)
    assert torch.allclose(features.flatten(1), vanilla.features(x))
    # padded, centred, to the paper's 121*64: the Linear reads 7744 features, not 3136
    assert member.fc.in_features == 121 * 64 and vanilla.fc[0].in_features == 3136
    assert member(x).shape == (3, 512) and member.out_features == 512


def test_every_architecture_builds_with_a_fixed_feature_map() -> None:
    s1 = get_space(1)
    assert sorted({s1.map_size(i) for i in range(25)}) == [4, 5, 6, 7, 8, 9, 10]
    assert s1.feature_size() == 11 and get_space(2).feature_size() == 20
    x = torch.rand(2, 4, 84, 84)
    for space, archs in ((1, range(25)), (2, (0, 31))):
        for index in archs:
            net = build_space_model(space, index)
            assert net(x).shape == (2, 512)
            assert net.fc.in_features == 64 * get_space(space).feature_size() ** 2


def test_supernet_path_equals_the_extracted_network() -> None:
    torch.manual_seed(0)
    supernet = OneShotSupernet(1)
    x = torch.rand(2, 4, 84, 84)
    for index in (0, 17, 24):
        supernet.set_arch(index)
        assert torch.allclose(supernet(x), supernet.extract(index)(x))
    with pytest.raises(ArchitectureIndexError):
        supernet.set_arch(25)


# --- SPOS: weight sharing that trains -------------------------------------------------------


def _rollout(num_actions: int, t: int = 4, n: int = 2, seed: int = 0) -> Rollout:
    gen = torch.Generator().manual_seed(seed)
    return Rollout(
        obs=torch.randint(0, 256, (t, n, 4, 84, 84), generator=gen, dtype=torch.uint8),
        actions=torch.randint(0, num_actions, (t, n), generator=gen),
        log_probs=torch.full((t, n), -math.log(num_actions)),
        values=torch.zeros(t, n),
        rewards=torch.randn(t, n, generator=gen),
        dones=torch.zeros(t, n),
        bootstrap=torch.zeros(n),
        games=[],
    )


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_a_spos_step_changes_the_sampled_path_and_only_it() -> None:
    torch.manual_seed(0)
    supernet = OneShotSupernet(1)
    agent = ActorCritic(supernet, 4)
    cfg = PPOConfig(num_envs=2, rollout_length=4, epochs=1, minibatches=1)
    optimizer = torch.optim.Adam(agent.parameters(), lr=1e-3, eps=1e-5)
    schedule = UniformPaths(supernet)
    generator = torch.Generator().manual_seed(3)
    schedule.begin_update(0, 0, generator)
    path = get_space(1).choices(supernet.arch)
    before = _snapshot(supernet)
    ppo_update(agent, optimizer, _rollout(4), cfg, generator)
    after = supernet.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    on_path = {f"candidates.{layer}.{c}.{p}" for layer, c in enumerate(path)
               for p in ("weight", "bias")}  # fmt: skip
    assert {"stem.weight", "fc.weight"} <= changed
    assert on_path <= changed
    assert not {k for k in changed if k.startswith("candidates.")} - on_path  # other paths idle


def test_the_public_codes_rewrapped_loss_would_not_train() -> None:
    """The defect this test file guards against: a loss rebuilt from its value has no graph."""
    torch.manual_seed(0)
    agent = ActorCritic(OneShotSupernet(1), 4)
    before = _snapshot(agent)
    loss = agent(torch.rand(2, 4, 84, 84))[0].pow(2).mean()
    rewrapped = torch.tensor(loss.item(), requires_grad=True)
    optimizer = torch.optim.Adam(agent.parameters(), lr=1e-3)
    optimizer.zero_grad()
    rewrapped.backward()
    optimizer.step()
    assert all(torch.equal(before[k], v) for k, v in agent.state_dict().items())


def test_uniform_paths_cover_the_space_reproducibly() -> None:
    schedule = UniformPaths(OneShotSupernet(1))

    def draws(seed: int) -> list[int]:
        gen = torch.Generator().manual_seed(seed)
        out = []
        for u in range(2500):
            schedule.begin_update(u, u, gen)
            out.append(schedule.supernet.arch)
        return out

    first = draws(0)
    assert first == draws(0) and first != draws(1)
    counts = np.bincount(first, minlength=25)
    assert counts.min() > 60 and counts.max() < 140  # expected 100 each


# --- ENAS -----------------------------------------------------------------------------------


def test_controller_probabilities_and_sampling() -> None:
    torch.manual_seed(0)
    controller = Controller(2)
    probs = controller.arch_probabilities(2)
    assert probs.shape == (32,) and probs.sum().item() == pytest.approx(1.0, abs=1e-5)
    a = [controller.sample(torch.Generator().manual_seed(5)) for _ in range(2)]
    assert a[0] == a[1] and 0 <= a[0] < 32
    log_prob, entropy = controller(controller.choices_of([a[0]]))
    assert log_prob.exp().item() == pytest.approx(probs[a[0]].item(), rel=1e-5)
    assert 0 < entropy.item() <= 5 * math.log(2) + 1e-5


def test_controller_for_another_space_is_refused() -> None:
    controller = Controller(1)
    with pytest.raises(ValueError, match="built for search space 1"):
        controller.arch_probabilities(2)
    with pytest.raises(ValueError, match="built for search space 1"):
        ControllerSchedule(OneShotSupernet(2), controller, OneShotConfig(space=2, method="enas"))
    with pytest.raises(ArchitectureIndexError):
        controller.choices_of([25])


@pytest.mark.parametrize("reward", [5.0, -5.0])
def test_reinforce_moves_the_probability_with_the_sign_of_the_advantage(reward: float) -> None:
    torch.manual_seed(0)
    controller = Controller(1)
    arch = 7
    before = controller.arch_probabilities()[arch].item()
    log_prob, entropy = controller(controller.choices_of([arch]))
    loss = reinforce_loss(log_prob, entropy, torch.tensor([reward]), 0.0, entropy_coef=0.0)
    loss.backward()
    with torch.no_grad():
        for p in controller.parameters():
            p -= 0.05 * p.grad
    after = controller.arch_probabilities()[arch].item()
    assert (after - before) * reward > 0


def test_moving_average_baseline() -> None:
    assert update_baseline(0.0, [10.0, 20.0], 0.2) == pytest.approx(12.0)
    assert update_baseline(12.0, [0.0], 0.2) == pytest.approx(2.4)


def test_controller_steps_after_its_children() -> None:
    torch.manual_seed(0)
    supernet = OneShotSupernet(1)
    cfg = OneShotConfig(method="enas", child_updates=2, children_per_step=2, total_steps=8192)
    schedule = ControllerSchedule(supernet, Controller(1), cfg)
    gen = torch.Generator().manual_seed(0)
    before = _snapshot(schedule.controller)
    rows = []
    for update, games in enumerate([[1.0], [3.0], [], [], [6.0], [], [], [8.0]]):
        schedule.begin_update(update, update, gen)
        assert supernet.arch == schedule.child
        rows += schedule.end_update(update + 1, games, gen)
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    assert rows[0]["reward"] == 2.0 and math.isnan(rows[1]["reward"])  # no game: no reward
    assert [r["controller_step"] for r in rows] == [0, 1, 1, 2]
    assert schedule.baseline == pytest.approx(0.2 * 0.8 * 2.0 + 0.8 * 7.0)
    after = schedule.controller.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


# --- random search, selection, Kendall's tau ------------------------------------------------


def _table(values: list[float], totals: list[float] | None = None) -> pd.DataFrame:
    n = len(values)
    totals = totals if totals is not None else [3 * v for v in values]
    df = pd.DataFrame({"arch": range(n), "kernels": [str(a) for a in range(n)],
                       "reward_mean": values, "total_reward": totals})  # fmt: skip
    return df.set_index("arch", drop=False).rename_axis(None)


def test_best_of_k_closed_form_by_hand() -> None:
    pmf = best_of_k_pmf([3.0, 1.0, 5.0, 2.0, 4.0], 2)
    assert pmf.to_dict() == pytest.approx({1.0: 0.0, 2.0: 0.1, 3.0: 0.2, 4.0: 0.3, 5.0: 0.4})
    assert expected_best_of_k([1, 2, 3, 4, 5], 2) == pytest.approx(4.0)
    assert expected_best_of_k([1, 2, 3, 4, 5], 5) == pytest.approx(5.0)
    assert best_of_k_pmf([1.0, 1.0, 2.0], 2).to_dict() == pytest.approx({1.0: 1 / 3, 2.0: 2 / 3})


def test_resampled_random_search_matches_the_closed_form() -> None:
    values = [float(v) for v in np.random.default_rng(0).permutation(25)]
    runs = random_search(_table(values), k=3, repeats=4000, seed=1)
    assert len(runs) == 4000 and list(runs.columns) == ["arch", "reward_mean", "total_reward"]
    exact = expected_best_of_k(values, 3)  # 18.5 for 0..24
    assert exact == pytest.approx(18.5)
    assert runs["reward_mean"].mean() == pytest.approx(exact, abs=0.25)
    frequencies = runs["reward_mean"].value_counts(normalize=True)
    pmf = best_of_k_pmf(values, 3)
    assert (frequencies.reindex(pmf.index, fill_value=0) - pmf).abs().max() < 0.03
    assert (runs["total_reward"] == 3 * runs["reward_mean"]).all()  # the chosen arch's metrics
    with pytest.raises(ValueError, match="k must be"):
        random_search(_table(values), k=26)


def test_kendall_tau_b_by_hand() -> None:
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    # ties: pairs (0,1) tied in x, (1,2) tied in y; C = 4, D = 0 -> 4 / sqrt(5 * 5)
    assert kendall_tau([1, 1, 2, 3], [1, 2, 2, 3]) == pytest.approx(0.8)
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="one length"):
        kendall_tau([1, 2], [1, 2, 3])


def test_selection_protocol() -> None:
    table = _table([1.0, 9.0, 4.0, 7.0, 2.0], totals=[5.0, 1.0, 9.0, 2.0, 3.0])
    proxy = pd.DataFrame({"arch": [0, 1, 2, 3, 4], "proxy": [0.9, 0.1, 0.8, 0.7, 0.7]})
    assert top_k(proxy, 3) == [0, 2, 3]
    chosen = select_architecture(proxy, table, k=3)
    assert chosen["arch"] == 3 and chosen["reward_mean"] == 7.0 and chosen["top_k"] == "0 2 3"
    assert select_architecture(proxy, table, k=3, criterion="total_reward")["arch"] == 2
    assert proxy_tau(proxy, table) == pytest.approx(
        kendall_tau(proxy["proxy"], table["reward_mean"])
    )
    with pytest.raises(ValueError, match="no row for architectures"):
        select_architecture(proxy, table.drop(index=2), k=3)


def test_architectures_that_finished_no_game_rank_last() -> None:
    table = _table([math.nan, 2.0, 1.0], totals=[math.nan, 1.0, 2.0])
    proxy = pd.DataFrame({"arch": [0, 1, 2], "proxy": [0.9, 0.5, 0.1]})
    assert select_architecture(proxy, table, k=2)["arch"] == 1
    assert select_architecture(proxy, table, k=1)["arch"] == 0  # the only candidate
    assert 0 not in set(random_search(table, k=2, repeats=200)["arch"])
    assert proxy_tau(proxy, table) == pytest.approx(1.0)  # over the scored architectures


# --- the tabular benchmark ------------------------------------------------------------------


def test_run_metrics_by_hand(tmp_path: Path) -> None:
    scores = list(range(150))
    pd.DataFrame({"step": range(150), "return": scores}).to_csv(tmp_path / "episodes.csv")
    pd.DataFrame({"step": [1, 2], "mean": [3.0, 4.5]}).to_csv(tmp_path / "evals.csv")
    m = run_metrics(tmp_path)
    assert m["reward_mean"] == pytest.approx(74.5) and m["total_reward"] == pytest.approx(99.5)
    assert m["test_score"] == 4.5 and m["games"] == 150


def test_tabular_file_with_missing_architectures_is_refused(tmp_path: Path) -> None:
    table = _table([float(v) for v in range(25)]).assign(space=1, game="Breakout")
    path = tmp_path / "t.csv"
    table.drop(index=[3, 11]).to_csv(path, index=False)
    with pytest.raises(TabularError, match=r"lacks 2 of the 25 .*\[3, 11\].*--archs 3 11"):
        load_tabular(path)
    assert len(load_tabular(path, archs=[0, 1, 2])) == 23
    with pytest.raises(TabularError, match="space 1, not 2"):
        load_tabular(path, space=2)
    with pytest.raises(FileNotFoundError, match="sweep-space"):
        load_tabular(tmp_path / "none.csv")


def test_study_helpers() -> None:
    assert candidate_archs(1, 0) == tuple(range(25))
    small = candidate_archs(1, 3)
    assert len(small) == 3 and 17 in small
    assert len(candidate_archs(2, 4)) == 4
    assert enas_child_schedule(9766) == (10, 3)
    assert enas_child_schedule(12) == (4, 3) and enas_child_schedule(2) == (1, 2)


# --- tiny runs on real Breakout -------------------------------------------------------------

TINY = {
    "game": "Breakout",
    "space": 1,
    "total_steps": 128,
    "num_envs": 2,
    "rollout_length": 16,
    "epochs": 1,
    "minibatches": 1,
    "eval_interval": 128,
    "eval_episodes": 1,
    "checkpoint_interval": 64,
    "log_interval": 32,
    "backend": "gymnasium",
}


def test_spos_search_trains_and_ranks(tmp_path: Path) -> None:
    cfg = OneShotConfig(**TINY, method="spos", model="supernet-space1")
    result = train_oneshot(cfg, tmp_path / "spos", progress=False)
    assert result.completed and (tmp_path / "spos" / "result.json").exists()
    archs = pd.read_csv(tmp_path / "spos" / "archs.csv")
    assert list(archs["step"]) == [32, 64, 96, 128] and archs["arch"].between(0, 24).all()
    ranking = search_proxy(tmp_path / "spos", [17, 3], episodes=1)
    assert sorted(ranking["arch"]) == [3, 17] and ranking["proxy"].is_monotonic_decreasing
    cached = pd.read_csv(tmp_path / "spos" / "ranking.csv")
    assert len(search_proxy(tmp_path / "spos", [17], episodes=1)) == 1
    assert len(pd.read_csv(tmp_path / "spos" / "ranking.csv")) == len(cached)  # reused
    with pytest.raises(ArchitectureIndexError):
        search_proxy(tmp_path / "spos", [40], episodes=1)
    # a finished search's cached ranking needs no weights; an uncached candidate does
    shutil.rmtree(tmp_path / "spos" / "checkpoints")
    pd.testing.assert_frame_equal(search_proxy(tmp_path / "spos", [17, 3], episodes=1), ranking)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        search_proxy(tmp_path / "spos", [5], episodes=1)


def test_enas_search_resumes_exactly(tmp_path: Path) -> None:
    cfg = OneShotConfig(**TINY, method="enas", tag="enas", child_updates=1, children_per_step=2)
    train_oneshot(cfg, tmp_path / "whole", progress=False)
    train_oneshot(cfg, tmp_path / "resumed", progress=False, stop_after_segments=1)
    train_oneshot(cfg, tmp_path / "resumed", progress=False)
    whole, resumed = (load_checkpoint_file(tmp_path / r / "checkpoints" / "latest.pt")
                      for r in ("whole", "resumed"))  # fmt: skip
    for part in ("model", "schedule"):
        a, b = whole[part], resumed[part]
        if part == "schedule":
            a, b = a["controller"], b["controller"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "whole" / "archs.csv"),
                                  pd.read_csv(tmp_path / "resumed" / "archs.csv"))  # fmt: skip
    proxy = enas_proxy(tmp_path / "whole")
    assert len(proxy) == 25 and proxy["proxy"].sum() == pytest.approx(1.0, abs=1e-5)
    shutil.rmtree(tmp_path / "whole" / "checkpoints")  # controller.csv keeps the proxy
    pd.testing.assert_frame_equal(
        enas_proxy(tmp_path / "whole", [3, 17]),
        proxy[proxy["arch"].isin([3, 17])].reset_index(drop=True),
    )
    assert (tmp_path / "whole" / "evals.csv").exists()  # the controller's favourite is tested


def test_sweep_space_cli_writes_a_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = "--space 1 --archs 17 --steps 1024 --backend gymnasium --eval-episodes 1 --out"
    code = main_sweep_space([*args.split(), str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "table:" in out
    table = load_tabular(tmp_path / "tabular__space1__Breakout__tabular.csv", archs=[17])
    assert table.loc[17, "kernels"] == "4-3" and table.loc[17, "steps"] == 1024
    assert main_sweep_space(["--space", "1", "--archs", "99", "--out", str(tmp_path)]) == 2
    assert "not in search space 1" in capsys.readouterr().err
