"""Invariance by averaging over the orbit (gcnn.OrbitAverage, issue #17)."""

from __future__ import annotations

import pytest
import torch

import gcnn
from gcnn import CNN, CyclicGroup, GroupEquivariantCNN, OrbitAverage, equivariance_error
from gcnn.equivariance import smooth_disc_input
from gcnn.invariance import turn


def _cnn(seed=0):
    torch.manual_seed(seed)
    return CNN(kernel_size=5, in_channels=1, out_channels=10, num_hidden=1,
               hidden_channels=4).eval()


def _c4_model(seed=0):
    torch.manual_seed(seed)
    return GroupEquivariantCNN(CyclicGroup(4), kernel_size=5, in_channels=1, out_channels=10,
                               num_hidden=1, hidden_channels=3).eval()


def test_exported():
    assert "OrbitAverage" in gcnn.__all__ and gcnn.OrbitAverage is OrbitAverage


def test_cnn_averaged_over_quarter_turns_is_exactly_c4_invariant():
    cnn = _cnn()
    x = torch.randn(3, 1, 29, 29)
    assert equivariance_error(cnn, x, group=CyclicGroup(4)).max() > 1e-2  # not on its own
    avg = OrbitAverage(cnn, [0, 90, 180, 270])
    assert isinstance(avg.group, CyclicGroup) and avg.group.order == 4
    err = equivariance_error(avg, x)  # group, kinds: from the module
    assert err.shape == (4,) and err.max() < 1e-6


def test_c4_model_averaged_over_0_and_45_is_c8_invariant_up_to_interpolation():
    model = _c4_model()
    x = smooth_disc_input(size=29, radius=10.0)
    c8 = CyclicGroup(8)
    alone = equivariance_error(model, x, group=c8)
    avg = OrbitAverage(model, [0, 45])
    assert avg.group is None  # {0, 45} is not a group; C4 x {0, 45} is C8
    err = equivariance_error(avg, x, group=c8)
    assert err[0::2].max() < 1e-5  # quarter turns: exact (up to float round-off)
    # 45-degree turns: the turned input is resampled twice, so not exact, but much better
    assert 0 < err[1::2].max() < 0.5 * alone[1::2].max()


def test_average_of_log_probabilities_by_hand():
    cnn = _cnn(1)
    x = torch.rand(2, 1, 28, 28)
    avg = OrbitAverage(cnn, [0, 30])
    with torch.no_grad():
        expected = (torch.log_softmax(cnn(x), -1)
                    + torch.log_softmax(cnn(gcnn.rotate(x, 30.0)), -1)) / 2
        assert torch.allclose(avg(x), expected, atol=1e-6)
        logits = OrbitAverage(cnn, [0, 30], output="logits")(x)
        assert torch.allclose(logits, (cnn(x) + cnn(gcnn.rotate(x, 30.0))) / 2, atol=1e-6)
        probs = OrbitAverage(cnn, [0, 30], output="probs")(x)
        assert torch.allclose(probs.sum(-1), torch.ones(2), atol=1e-6)


def test_cost_and_repr():
    avg = OrbitAverage(_cnn(), CyclicGroup(8))
    assert avg.angles == [0, 45, 90, 135, 180, 225, 270, 315]
    assert avg.cost == 8
    r = repr(avg)
    assert "cost=8 forward passes per input" in r and "angles=[0, 45, 90" in r
    calls = []
    avg.model.register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        avg(torch.zeros(1, 1, 28, 28))
    assert len(calls) == 8
    assert not any(k.startswith("group") for k in avg.state_dict())  # only the model's weights


def test_turn_is_exact_for_quarter_turns():
    x = torch.randn(2, 1, 7, 7)
    assert torch.equal(turn(x, 90), torch.rot90(x, 1, dims=(-1, -2)))
    assert torch.equal(turn(x, -90), torch.rot90(x, 3, dims=(-1, -2)))
    assert torch.equal(turn(x, 360), x)
    assert (turn(x, 90) - gcnn.rotate(x, 90.0)).abs().max() < 1e-5  # same direction


def test_errors():
    with pytest.raises(TypeError, match="Module"):
        OrbitAverage(lambda x: x, [0])
    with pytest.raises(TypeError, match="sequence.*got float"):
        OrbitAverage(_cnn(), 45.0)
    with pytest.raises(ValueError, match="at least one"):
        OrbitAverage(_cnn(), [])
    with pytest.raises(ValueError, match="finite.*nan"):
        OrbitAverage(_cnn(), [0, float("nan")])
    with pytest.raises(ValueError, match="'log_probs'.*'mean'"):
        OrbitAverage(_cnn(), [0], output="mean")
    with pytest.raises(TypeError, match="CyclicGroup"):
        OrbitAverage(_cnn(), gcnn.DihedralGroup(4))
    with pytest.raises(ValueError, match=r"\[B, C, H, W\].*\[1, 28, 28\]"):
        OrbitAverage(_cnn(), [0])(torch.zeros(1, 28, 28))
