"""Profiler: per-layer table, JSON CLI output, latency."""

from __future__ import annotations

import json

from workbench.cli import main
from workbench.models.profile import count_macs, profile_model, profile_models


def test_layer_table_sums_to_totals() -> None:
    p = profile_model("resnet14", latency=False)
    assert p.layers["macs"].sum() == p.macs
    assert p.layers["params"].sum() == p.params
    assert list(p.layers.columns) == [
        "layer",
        "type",
        "params",
        "macs",
        "output_shape",
        "activation_bytes",
    ]
    stem = p.layers.iloc[0]
    assert stem["layer"] == "backbone.stem" and stem["output_shape"] == "16x42x42"
    assert stem["activation_bytes"] == 16 * 42 * 42 * 4


def test_latency_is_measured_for_both_batch_sizes() -> None:
    p = profile_model("vanilla")
    assert set(p.latency_ms) == {1, 16}
    assert all(ms > 0 for ms in p.latency_ms.values())


def test_profile_models_ratios() -> None:
    table = profile_models(["vanilla", "resnet20"], reference="resnet20", latency=False)
    assert table.set_index("model").loc["resnet20", "params_vs_resnet20"] == 1.0
    assert table.set_index("model").loc["vanilla", "params_vs_resnet20"] > 5


def test_cli_profile_json(capsys) -> None:
    assert main(["profile", "--model", "resnet20", "--json", "--no-latency"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"model", "params", "macs", "layers", "latency_ms"} <= set(out)
    assert out["model"] == "resnet20" and out["macs"] == sum(r["macs"] for r in out["layers"])


def test_cli_unknown_model_is_an_error(capsys) -> None:
    assert main(["profile", "--model", "resnet2", "--no-latency"]) == 2
    assert "Did you mean" in capsys.readouterr().err


def test_macs_restore_training_mode() -> None:
    from workbench.models import create_agent

    agent = create_agent("resnet14", 4).train()
    count_macs(agent)
    assert agent.training
