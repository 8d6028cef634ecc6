"""The training device: named by argument or $WORKBENCH_DEVICE, checked before any training."""

from __future__ import annotations

import pytest
import torch

from workbench.device import DEVICE_VARIABLE, device_info, module_device, train_device
from workbench.runs.provenance import environment_info


def test_the_cpu_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEVICE_VARIABLE, raising=False)
    assert train_device() == torch.device("cpu")
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    assert train_device() == torch.device("cpu")
    info = environment_info()
    assert info["device"] == "cpu"
    assert info["cpu"].endswith(f"({torch.backends.cpu.get_cpu_capability()})")  # hosts differ


def test_auto_takes_a_gpu_only_when_torch_sees_one() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert train_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_missing_gpu_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_VARIABLE, "cuda")
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        train_device()
    assert environment_info()["device"].startswith("unusable")


@pytest.mark.parametrize("name", ["tpu", "gpu0", "mps"])
def test_unknown_devices_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="device"):
        train_device(name)


def test_module_device_and_info() -> None:
    assert module_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
    assert module_device(torch.nn.ReLU()) == torch.device("cpu")  # no parameters
    assert device_info(torch.device("cpu")) == {"device": "cpu"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_run_on_a_missing_gpu_fails_before_training(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.config import PPOConfig
    from workbench.rl.ppo import train_ppo

    monkeypatch.setenv(DEVICE_VARIABLE, "cuda")
    cfg = PPOConfig(game="Breakout", total_steps=64, num_envs=2, rollout_length=32,
                    minibatches=2, backend="gymnasium")  # fmt: skip
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        train_ppo(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run" / "metrics.csv").exists()
