"""Differentiable agent search in the A2C loop (A2D Alg. 1, DARTS bi-level) on real Breakout."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from workbench.cli import main
from workbench.config import A2CConfig, SearchConfig
from workbench.nas.bilevel import darts_alpha_grad
from workbench.nas.cost import arch_macs
from workbench.nas.space import cheapest_arch, load_arch
from workbench.rl.a2c import train
from workbench.runs.folder import load_checkpoint_file

TINY = {
    "game": "Breakout",
    "space": "a3cs",
    "sampler": "hard",
    "total_steps": 40,
    "num_envs": 2,
    "rollout_length": 5,
    "eval_interval": 40,
    "eval_episodes": 1,
    "checkpoint_interval": 20,
    "log_interval": 10,
    "alpha_log_interval": 10,
    "backend": "gymnasium",
}


def _toy_losses(alpha: torch.Tensor):
    a = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(3, 4)
    b = torch.linspace(1, -0.5, 12, dtype=torch.float64).reshape(3, 4).flip(1)

    def make(m: torch.Tensor, alpha: torch.Tensor):
        def loss(w: dict[str, torch.Tensor]) -> torch.Tensor:
            fit = (torch.tanh(m @ w["w"]) * alpha.softmax(0)).sum() - 0.3
            return fit**2 + 0.1 * (w["w"] ** 2).sum() * alpha.sum().tanh()

        return loss

    return make(a, alpha), make(b, alpha)


def test_second_order_gradient_matches_the_exact_hypergradient() -> None:
    alpha = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True)
    w0 = {"w": torch.tensor([0.5, -1.0, 0.25, 2.0], dtype=torch.float64)}
    xi = 0.1
    train_loss, val_loss = _toy_losses(alpha)
    ours = darts_alpha_grad(train_loss, val_loss, w0, alpha, xi)

    def unrolled_val(a: torch.Tensor) -> torch.Tensor:
        tr, va = _toy_losses(a)
        w = w0["w"].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(tr({"w": w}), w, create_graph=True)
        return va({"w": w - xi * g})

    exact = torch.autograd.grad(unrolled_val(alpha), alpha)[0]
    assert torch.allclose(ours, exact, rtol=1e-4, atol=1e-7)
    first = darts_alpha_grad(train_loss, val_loss, w0, alpha, xi, second_order=False)
    assert not torch.allclose(first, exact, rtol=1e-3)  # the second-order term matters here


@pytest.mark.parametrize(
    ("strategy", "sampler"),
    [("one-level", "hard"), ("bi-level", "hard"), ("bi-level-first-order", "hard")],
)
def test_search_runs_logs_and_moves_alpha(strategy: str, sampler: str, tmp_path: Path) -> None:
    cfg = SearchConfig(**{**TINY, "sampler": sampler}, strategy=strategy)
    result = train(cfg, tmp_path / "run", progress=False)
    assert result.completed
    state = load_checkpoint_file(tmp_path / "run" / "checkpoints" / "latest.pt")
    alpha = state["model"]["backbone.alpha"]
    assert alpha.shape == (12, 9) and alpha.abs().sum() > 0  # alpha left its zero start
    assert state["search"]["optimizer"]["state"]  # Adam on alpha took steps
    probs = pd.read_csv(tmp_path / "run" / "alpha.csv")
    assert set(probs["step"]) == {10, 20, 30, 40} and len(probs) == 4 * 12
    assert (
        probs.filter(like="ir").join(probs[["conv3", "conv5", "skip"]]).sum(1).round(5).eq(1).all()
    )
    archs = pd.read_csv(tmp_path / "run" / "archs.csv")
    first = json.loads(archs.loc[0, "arch"])
    assert archs.loc[0, "macs"] == arch_macs(first, "a3cs")
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert {"tau", "alpha_entropy", "skip_share", "expected_cost"} <= set(metrics.columns)
    assert len(pd.read_csv(tmp_path / "run" / "evals.csv")) == 1


def test_weights_and_alpha_use_separate_optimisers(tmp_path: Path) -> None:
    cfg = SearchConfig(**TINY)
    train(cfg, tmp_path / "run", progress=False)
    state = load_checkpoint_file(tmp_path / "run" / "checkpoints" / "latest.pt")
    rmsprop = state["optimizer"]["param_groups"][0]["params"]
    adam = state["search"]["optimizer"]["param_groups"][0]["params"]
    assert len(adam) == 1 and len(rmsprop) == len(state["model"]) - 1 - _buffers(state["model"])


def _buffers(weights: dict) -> int:
    return sum(k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in weights)


def test_search_resume_equals_uninterrupted(tmp_path: Path) -> None:
    cfg = SearchConfig(**TINY, strategy="bi-level")
    train(cfg, tmp_path / "whole", progress=False)
    train(cfg, tmp_path / "parts", progress=False, stop_after_segments=1)
    train(cfg, tmp_path / "parts", progress=False)
    a = load_checkpoint_file(tmp_path / "whole" / "checkpoints" / "latest.pt")["model"]
    b = load_checkpoint_file(tmp_path / "parts" / "checkpoints" / "latest.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "whole" / "alpha.csv").read_text() == (
        tmp_path / "parts" / "alpha.csv"
    ).read_text()


@pytest.mark.slow  # about a minute; test_nas checks the same on the cost alone, fast
def test_large_lambda_drives_every_cell_to_its_cheapest_op(tmp_path: Path) -> None:
    short = {"sampler": "soft", "num_envs": 1, "rollout_length": 2, "total_steps": 120}
    cfg = SearchConfig(**{**TINY, **short}, cost_lambda=100.0, arch_lr=0.1)
    train(cfg, tmp_path / "run", progress=False)
    state = load_checkpoint_file(tmp_path / "run" / "checkpoints" / "latest.pt")
    derived = state["search"]["last_arch"]
    assert derived == cheapest_arch("a3cs")


def test_search_config_rejects_bad_settings() -> None:
    for bad in ({"top_k": 1}, {"top_k": 9}, {"tau0": 0.0}, {"cost_lambda": -1.0},
                {"strategy": "two-level"}, {"sampler": "gumbel"}, {"space": "darts"}):  # fmt: skip
        with pytest.raises(ValueError):
            SearchConfig(**bad)


def test_derive_then_train_the_derived_arch_from_the_cli(tmp_path: Path) -> None:
    cfg = SearchConfig(**TINY)
    run = train(cfg, tmp_path / "search", progress=False).run_dir
    arch_file = tmp_path / "arch.json"
    assert main(["derive", "--run", str(run), "--out", str(arch_file)]) == 0
    arch = load_arch(arch_file)
    state = load_checkpoint_file(run / "checkpoints" / "latest.pt")
    assert arch == state["search"]["last_arch"]
    code = main(
        ["train", "--arch", str(arch_file), "--steps", "20", "--num-envs", "2",
         "--eval-episodes", "1", "--backend", "gymnasium", "--out", str(tmp_path / "runs")]
    )  # fmt: skip
    assert code == 0
    (derived_run,) = (tmp_path / "runs").iterdir()
    assert derived_run.name.startswith("Breakout__arch-arch__")
    assert json.loads((derived_run / "config.json").read_text())["arch"] == arch
    assert A2CConfig(arch=arch).arch == arch


def test_cosearch_updates_the_accelerator_and_alpha(tmp_path: Path) -> None:
    cfg = SearchConfig(**TINY, cost="latency", hw_interval=20, das_iterations=20)
    train(cfg, tmp_path / "run", progress=False)
    hardware = pd.read_csv(tmp_path / "run" / "hardware.csv")
    assert list(hardware["step"]) == [0, 20] and (hardware["fps"] > 0).all()
    assert (hardware["dsp"] <= 900).all()
    state = load_checkpoint_file(tmp_path / "run" / "checkpoints" / "latest.pt")
    assert state["search"]["hardware_arch"] is not None
    assert state["model"]["backbone.alpha"].abs().sum() > 0


def test_latency_table_adds_up_to_the_predicted_chunk_latencies() -> None:
    from workbench.hardware.cosearch import hardware_for
    from workbench.nas.space import RESNET_LIKE_A3CS

    hw = hardware_for(RESNET_LIKE_A3CS, "a3cs", iterations=30)
    derived = sum(hw.table.at[cell, op] for cell, op in RESNET_LIKE_A3CS.items())
    assert hw.fixed_s + derived == pytest.approx(sum(hw.prediction.chunk_latency_s), rel=1e-9)
    assert (hw.table["skip"] == 0).all() and (hw.table["conv5"] > hw.table["conv3"]).all()


def test_hw_predict_cli(capsys: pytest.CaptureFixture) -> None:
    assert main(["hw", "predict", "--arch", "resnet14", "--das-iterations", "50"]) == 0
    out = capsys.readouterr().out
    assert "DNNBuilder-like:" in out and "DAS:" in out and "FPS" in out


def test_cosearch_command_is_search_with_a3cs_defaults() -> None:
    from workbench.cli import _search, build_parser

    parser = build_parser()
    co, plain = parser.parse_args(["cosearch"]), parser.parse_args(["search"])
    assert co.func is _search is plain.func
    assert (co.sampler, co.cost, co.das_iterations) == ("hard", "latency", 1500)
    assert (plain.sampler, plain.cost, plain.das_iterations) == ("soft", "macs", 300)
    assert vars(co).keys() == vars(plain).keys()
