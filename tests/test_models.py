"""Backbones: registry, shapes, and params/MACs against hand-derived arithmetic (SPEC §2)."""

from __future__ import annotations

import pytest
import torch

from workbench.models import ActorCritic, create_agent, create_model, list_models
from workbench.models.profile import count_macs, count_params
from workbench.names import UnknownNameError

A = 18  # heads over the full action set


def conv(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


def linear(fin: int, fout: int) -> int:
    return fin * fout + fout


def heads_params(features: int) -> int:
    return linear(features, A) + linear(features, 1)


def conv_macs(cin: int, cout: int, k: int, out_hw: int) -> int:
    return cin * cout * k * k * out_hw * out_hw


def heads_macs(features: int) -> int:
    return features * A + features


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("shape", [(4, 84, 84), (3, 64, 64)])
def test_every_model_forward_backward(name: str, shape: tuple[int, int, int]) -> None:
    agent = create_agent(name, 6, in_channels=shape[0], input_size=shape[1])
    obs = torch.randint(0, 256, (3, *shape), dtype=torch.uint8)
    logits, value = agent(obs)
    assert logits.shape == (3, 6) and value.shape == (3,)
    (logits.logsumexp(-1).sum() + value.sum()).backward()
    grads = [p.grad for p in agent.parameters()]
    assert all(g is not None for g in grads), "every parameter must receive a gradient"
    assert all(torch.isfinite(g).all() for g in grads)


def test_vanilla_params_and_macs_by_hand() -> None:
    agent = create_agent("vanilla", A)
    params = conv(4, 32, 8) + conv(32, 64, 4) + conv(64, 64, 3) + linear(64 * 7 * 7, 512)
    assert count_params(agent) == params + heads_params(512) == 1_693_875
    # 84 -> 20 (8x8 s4) -> 9 (4x4 s2) -> 7 (3x3 s1)
    macs = conv_macs(4, 32, 8, 20) + conv_macs(32, 64, 4, 9) + conv_macs(64, 64, 3, 7) + 3136 * 512
    assert count_macs(agent) == macs + heads_macs(512)


def test_resnet20_params_and_macs_by_hand() -> None:
    agent = create_agent("resnet20", A)
    bn = 2  # weight and bias per channel (running stats are buffers)
    params = conv(4, 16, 3, bias=False)
    macs = conv_macs(4, 16, 3, 42)  # stride-2 stem: 84 -> 42
    cin = 16
    for cout, hw in ((16, 42), (32, 21), (64, 11)):
        for _ in range(3):
            params += bn * cin + conv(cin, cout, 3, False) + bn * cout + conv(cout, cout, 3, False)
            macs += conv_macs(cin, cout, 3, hw) + conv_macs(cout, cout, 3, hw)
            cin = cout  # option-A shortcuts: no parameters, no MACs
    params += bn * 64 + linear(64, 256) + heads_params(256)
    macs += 64 * 256 + heads_macs(256)
    assert count_params(agent) == params
    assert count_macs(agent) == macs


def test_paper_ratios() -> None:
    """A2D: vanilla has 5.83x the parameters of ResNet-20; ResNet-38 costs ~an order more MACs."""
    vanilla, r20, r38 = (create_agent(n, A) for n in ("vanilla", "resnet20", "resnet38"))
    assert count_params(vanilla) / count_params(r20) == pytest.approx(5.83, abs=0.005)
    assert 10 < count_macs(r38) / count_macs(vanilla) < 20  # paper 13.7x; we measure 15.8x


@pytest.mark.parametrize(
    ("name", "depth"), [("resnet14", 14), ("resnet20", 20), ("resnet38", 38), ("resnet74", 74)]
)
def test_resnet_depth(name: str, depth: int) -> None:
    net = create_model(name)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert net.depth == depth and len(convs) + 1 == depth  # convs plus the final FC


def test_registry_lists_required_models() -> None:
    assert {"vanilla", "resnet14", "resnet20", "resnet38", "resnet74", "impala_cnn"} <= set(
        list_models()
    )
    assert list_models("resnet*") == ["resnet14", "resnet20", "resnet38", "resnet74"]


def test_unknown_model_lists_close_names() -> None:
    with pytest.raises(UnknownNameError, match="resnet20"):
        create_model("resnet21")


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="num_actions"):
        ActorCritic(create_model("vanilla"), 0)
    with pytest.raises(ValueError, match="too small"):
        create_model("vanilla", input_size=20)
