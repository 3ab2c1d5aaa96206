"""The G-CNN and its plain-CNN twin (gcnn.models)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gcnn import CNN, CyclicGroup, DihedralGroup, GroupEquivariantCNN, Restriction

C1, C2, C4, C8 = (CyclicGroup(n) for n in (1, 2, 4, 8))
D4 = DihedralGroup(4)


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _rel(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def _rot(x, k=1):
    return torch.rot90(x, k, dims=(-1, -2))


# -- the post's models ---------------------------------------------------------------------------
def test_parameter_counts_match_the_post():
    assert _params(GroupEquivariantCNN(C4, 5, 1, 10, 4, 16)) == 102_970
    assert _params(CNN(5, 1, 10, 4, 32)) == 103_690


def test_output_shapes():
    torch.manual_seed(0)
    model = GroupEquivariantCNN(C4, 5, 1, 1, 4, 8)
    assert model(torch.randn(4, 1, 32, 32)).shape == (4, 1)
    assert model(torch.randn(1, 1, 32, 32)).shape == (1, 1)
    cnn = CNN(5, 1, 1, 4, 8)
    assert cnn(torch.randn(4, 1, 32, 32)).shape == (4, 1)
    assert cnn(torch.randn(1, 1, 32, 32)).shape == (1, 1)


def test_features():
    model = GroupEquivariantCNN(D4, 3, 2, 5, 2, [3, 4, 6])
    feats = model.features(_rand(2, 2, 11, 11))
    assert [f.shape for f in feats] == [(2, 3, 8, 9, 9), (2, 4, 8, 7, 7), (2, 6, 8, 5, 5)]
    assert all((f >= 0).all() for f in feats)  # after ReLU
    assert model.final_linear.in_features == 6


def test_batch_elements_are_independent():
    torch.manual_seed(1)
    model = GroupEquivariantCNN(C4, 3, 1, 3, 2, 4).eval()
    x = torch.randn(3, 1, 13, 13)
    with torch.no_grad():
        together = model(x)
        one = model(x[1:2])
    assert torch.allclose(together[1:2], one, atol=1e-5)


# -- invariance ----------------------------------------------------------------------------------
@pytest.mark.parametrize("group", [C4, D4], ids=["C4", "D4"])
@pytest.mark.parametrize("padding", [0, "same"])
def test_logits_are_invariant(group, padding):
    torch.manual_seed(2)
    model = GroupEquivariantCNN(group, 3, 1, 10, 2, 6, padding=padding).eval()
    x = torch.randn(3, 1, 15, 15)
    err = model.equivariance_error(x)
    assert err.shape == (group.order,)
    assert err.max() < 1e-5
    with torch.no_grad():  # by hand: rotate the picture, the logits stay
        assert _rel(model(_rot(x)), model(x)) < 1e-5
        if group is D4:  # and mirror it
            assert _rel(model(torch.flip(x, dims=(-1,))), model(x)) < 1e-5


def test_c4_model_is_not_flip_invariant():
    torch.manual_seed(3)
    model = GroupEquivariantCNN(C4, 3, 1, 10, 2, 6).eval()
    x = torch.randn(3, 1, 15, 15)
    with torch.no_grad():
        assert _rel(model(torch.flip(x, dims=(-1,))), model(x)) > 1e-3


def test_cnn_is_not_rotation_invariant():
    torch.manual_seed(4)
    cnn = CNN(3, 1, 10, 2, 8).eval()
    x = torch.randn(3, 1, 15, 15)
    with torch.no_grad():
        err = _rel(cnn(_rot(x)), cnn(x))
    assert err > 1e-3
    from gcnn import equivariance_error

    assert equivariance_error(cnn, x, group=C4)[1:].min() > 1e-3


# -- group schedules -----------------------------------------------------------------------------
def test_c8_to_c4_schedule_is_c4_invariant():
    torch.manual_seed(5)
    model = GroupEquivariantCNN([C8, C8, C4, C4, C4], 3, 1, 10, 4, 4).eval()
    assert model.group is C4
    assert [g.order for g in model.layer_groups] == [8, 8, 4, 4, 4]
    assert isinstance(model.restrictions[1], Restriction)
    assert model.gconvs[1].in_channels == 8  # 4 channels x [C8:C4] = 2
    x = torch.randn(2, 1, 17, 17)
    assert model.equivariance_error(x).max() < 1e-5
    with torch.no_grad():
        assert _rel(model(_rot(x)), model(x)) < 1e-5


def test_dihedral_to_trivial_schedule_builds():
    model = GroupEquivariantCNN([D4, D4, C4, C2, C1], 3, 1, 10, 4, 4)
    assert model.layer_groups == [D4, D4, C4, C2, C1]
    # channels grow by each index: D4 -> C4 (x2), C4 -> C2 (x2), C2 -> C1 (x2)
    assert [c.in_channels for c in model.gconvs] == [4, 8, 8, 8]
    feats = model.features(_rand(2, 1, 15, 15))
    assert [tuple(f.shape[1:3]) for f in feats] == [(4, 8), (4, 8), (4, 4), (4, 2), (4, 1)]
    assert model(_rand(2, 1, 15, 15)).shape == (2, 10)


@pytest.mark.parametrize("groups", [[C4, C8], [C4, D4], [C2, C4]], ids=["C4,C8", "C4,D4", "C2,C4"])
def test_invalid_schedules_raise(groups):
    with pytest.raises(ValueError, match="not a subgroup"):
        GroupEquivariantCNN(groups, 3, 1, 10, 1, 4)


def test_wrong_number_of_groups_raises():
    with pytest.raises(ValueError, match="num_hidden \\+ 1 = 3, got 2"):
        GroupEquivariantCNN([C4, C4], 3, 1, 10, 2, 4)


def test_bad_group_type_raises():
    with pytest.raises(TypeError, match="got int"):
        GroupEquivariantCNN(4, 3, 1, 10, 2, 4)
    with pytest.raises(TypeError, match=r"groups\[1\].*got int"):
        GroupEquivariantCNN([C4, 4], 3, 1, 10, 1, 4)


def test_hidden_channels_per_layer():
    model = GroupEquivariantCNN(C4, 3, 1, 10, 2, [2, 3, 5])
    assert model.lifting_conv.out_channels == 2
    assert [g.out_channels for g in model.gconvs] == [3, 5]
    assert model(_rand(1, 1, 9, 9)).shape == (1, 10)
    with pytest.raises(ValueError, match="needs 3 values.*got 2"):
        GroupEquivariantCNN(C4, 3, 1, 10, 2, [2, 3])
    with pytest.raises(ValueError, match=r"hidden_channels\[1\] must be at least 1, got 0"):
        GroupEquivariantCNN(C4, 3, 1, 10, 2, [2, 0, 3])


def test_num_hidden_zero():
    model = GroupEquivariantCNN(C4, 3, 1, 10, 0, 4)
    assert len(model.gconvs) == 0 and model.group is C4
    assert model(_rand(2, 1, 7, 7)).shape == (2, 10)
    assert CNN(3, 1, 10, 0, 4)(_rand(2, 1, 7, 7)).shape == (2, 10)


def test_model_argument_errors():
    with pytest.raises(ValueError, match="num_hidden.*got -1"):
        GroupEquivariantCNN(C4, 3, 1, 10, -1, 4)
    with pytest.raises(ValueError, match="in_channels must be at least 1, got 0"):
        GroupEquivariantCNN(C4, 3, 0, 10, 1, 4)
    with pytest.raises(ValueError, match="num_hidden.*got -2"):
        CNN(3, 1, 10, -2, 4)
    with pytest.raises(ValueError, match="hidden_channels must be at least 1, got 0"):
        CNN(3, 1, 10, 1, 0)


@pytest.mark.parametrize("model", [GroupEquivariantCNN(C4, 3, 1, 10, 1, 4), CNN(3, 1, 10, 1, 4)],
                         ids=["GCNN", "CNN"])
def test_bad_input_shape(model):
    with pytest.raises(ValueError, match=r"C_in=1.*\[2, 3, 9, 9\]"):
        model(torch.zeros(2, 3, 9, 9))
    with pytest.raises(ValueError, match=r"C_in=1.*\[1, 9, 9\]"):
        model(torch.zeros(1, 9, 9))


def test_gradients_reach_every_parameter():
    torch.manual_seed(6)
    model = GroupEquivariantCNN([C8, C4], 3, 1, 10, 1, 4)
    loss = nn.functional.cross_entropy(model(torch.randn(2, 1, 11, 11)), torch.tensor([1, 7]))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


# -- groups are shared constants, not state of a model --------------------------------------------
@pytest.mark.parametrize("cast", [lambda m: m.half(), lambda m: m.to(torch.bfloat16),
                                  lambda m: m.double(), lambda m: m.to("meta")],
                         ids=["half", "bfloat16", "double", "meta"])
def test_casting_a_model_leaves_the_groups_it_shares_alone(cast):
    c8, c4 = CyclicGroup(8), CyclicGroup(4)
    schedule = [c8, c8, c4, c4]
    first = GroupEquivariantCNN(schedule, 3, 1, 10, 3, 4)
    cast(first)
    for g in schedule:
        assert g.elements().dtype == torch.get_default_dtype() and g.elements().device.type == "cpu"
    second = GroupEquivariantCNN(schedule, 3, 1, 10, 3, 4)  # failed: "not in CyclicGroup(order=8)"
    x = _rand(2, 1, 13, 13)
    assert second(x).shape == (2, 10)
    assert _rel(second(_rot(x)), second(x)) < 1e-5   # still C4-invariant


def test_a_model_moved_to_another_device_runs_there_while_its_groups_stay():
    # "meta" stands in for a GPU: every buffer the forward pass needs moves with the model
    model = GroupEquivariantCNN([C8, C4], 3, 1, 10, 1, 4).to("meta")
    y = model(torch.empty(2, 1, 9, 9, device="meta"))
    assert y.shape == (2, 10) and y.device.type == "meta"
    assert C8.elements().device.type == "cpu" and C4.elements().device.type == "cpu"


def test_state_dict_has_no_group_entries_and_old_files_still_load():
    torch.manual_seed(0)
    model = GroupEquivariantCNN([C8, C4], 3, 1, 10, 1, 4)
    state = model.state_dict()
    assert not [k for k in state if "group" in k]
    # files written before (the shipped pretrained ones) hold each group's elements
    old = dict(state)
    old["lifting_conv.group._elements"] = C8.elements().half()
    old["restrictions.0.group._elements"] = C8.elements()
    old["restrictions.0.subgroup._elements"] = C4.elements()
    old["gconvs.0.group._elements"] = C4.elements()
    other = GroupEquivariantCNN([C8, C4], 3, 1, 10, 1, 4)
    other.load_state_dict(old)  # strict
    assert all(torch.equal(a, b) for a, b in zip(other.state_dict().values(), state.values()))
    assert torch.equal(C8.elements(), CyclicGroup(8).elements())
    # a file made with another group is still refused
    old["gconvs.0.group._elements"] = C8.elements()
    with pytest.raises(RuntimeError, match=r"gconvs\.0\.group.*8 elements.*CyclicGroup\(order=4\)"):
        other.load_state_dict(old)


# -- inputs a model cannot take: a sentence, not a torch error ------------------------------------
MODELS = {
    "GCNN": lambda: GroupEquivariantCNN(C4, 5, 1, 10, 4, 4),
    "CNN": lambda: CNN(5, 1, 10, 4, 4),
}


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_integer_images_are_refused_with_what_to_do(make):
    with pytest.raises(TypeError, match=r"torch\.uint8.*torch\.float32.*x\.float\(\) / 255"):
        make()(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_float64_input_to_a_float32_model_names_both_ways_out(make):
    model = make()
    x = _rand(2, 1, 28, 28).double()
    with pytest.raises(TypeError, match=r"torch\.float64.*torch\.float32.*x\.float\(\).*"
                                        r"model\.double\(\)"):
        model(x)
    assert model.double()(x).dtype == torch.float64   # both precisions work
    with pytest.raises(TypeError, match=r"torch\.float32.*torch\.float64.*x\.double\(\)"):
        model(x.float())


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_input_smaller_than_the_receptive_field_names_the_minimum(make):
    model = make()   # five 5x5 convolutions without padding: 1 + 5 * 4 = 21 pixels at least
    with pytest.raises(ValueError, match=r"at least 21x21 pixels.*got 20x28.*padding"):
        model(torch.zeros(2, 1, 20, 28))
    with pytest.raises(ValueError, match=r"at least 21x21 pixels.*got 5x5"):
        model(torch.zeros(2, 1, 5, 5))
    assert model(torch.zeros(2, 1, 21, 21)).shape == (2, 10)


@pytest.mark.parametrize("model", [GroupEquivariantCNN(C4, 5, 1, 10, 4, 4, padding="same"),
                                   CNN(5, 1, 10, 4, 4, padding="same"),
                                   CNN(5, 1, 10, 4, 4, padding=2)], ids=["GCNN", "CNN", "CNN-2"])
def test_padded_models_take_any_size(model):
    assert model(torch.zeros(1, 1, 1, 1)).shape == (1, 10)


def test_cnn_padding_is_checked():
    with pytest.raises(ValueError, match="padding.*got -1"):
        CNN(3, 1, 10, 1, 4, padding=-1)
    with pytest.raises(ValueError, match="padding.*got 'full'"):
        CNN(3, 1, 10, 1, 4, padding="full")


def test_a_single_image_gets_a_hint():
    with pytest.raises(ValueError, match=r"\[1, 28, 28\].*x\.unsqueeze\(0\)"):
        GroupEquivariantCNN(C4, 5, 1, 10, 1, 4)(torch.zeros(1, 28, 28))


@pytest.mark.parametrize("make", [lambda: GroupEquivariantCNN([C8, C4, C4], 3, 1, 10, 2, 4),
                                  lambda: CNN(3, 1, 10, 2, 4)], ids=["GCNN", "CNN"])
def test_reset_parameters_redraws_what_the_constructor_drew(make):
    torch.manual_seed(5)
    model = make()
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    torch.manual_seed(5)
    model.reset_parameters()
    assert all(torch.equal(fresh[k], v) for k, v in model.state_dict().items())


# -- the normalisation (issue #17's recipe) ------------------------------------------------------
def test_default_norm_is_the_posts_layer_norm_with_unchanged_modules_and_numbers():
    torch.manual_seed(0)
    default = GroupEquivariantCNN(C4, 3, 1, 10, 2, 4)
    torch.manual_seed(0)
    layer = GroupEquivariantCNN(C4, 3, 1, 10, 2, 4, norm="layer")
    assert default.norm == "layer" and repr(default) == repr(layer)
    assert default.state_dict().keys() == layer.state_dict().keys()
    x = _rand(2, 1, 15, 15)
    assert torch.equal(default(x), layer(x))
    cnn = CNN(3, 1, 10, 2, 4)
    assert cnn.norm == "layer" and len(cnn.norms) == 0
    assert not any("norm" in k for k in cnn.state_dict())  # the post's CNN's keys stay


@pytest.mark.parametrize("norm", ["batch", "none"])
@pytest.mark.parametrize("group", [C4, D4], ids=["C4", "D4"])
def test_other_norms_keep_the_model_invariant_after_training_steps(norm, group):
    torch.manual_seed(3)
    model = GroupEquivariantCNN(group, 3, 1, 10, 2, 4, norm=norm)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for step in range(3):  # train: batch statistics, then learned per-channel scales
        loss = model(_rand(4, 1, 15, 15, seed=step)).logsumexp(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = _rand(3, 1, 15, 15, seed=9)
    assert model.equivariance_error(x).max() < 1e-5    # training mode: batch statistics
    assert model.eval().equivariance_error(x).max() < 1e-5  # eval: running statistics
    kinds = {type(m).__name__ for m in [model.lifting_norm, *model.norms]}
    assert kinds == ({"GroupBatchNorm"} if norm == "batch" else {"Identity"})
    if norm == "batch":
        assert not torch.equal(model.lifting_norm.running_mean, torch.zeros(4))
        assert _params(model) == _params(GroupEquivariantCNN(group, 3, 1, 10, 2, 4)) + 3 * 2 * 4


def test_cnn_norms_and_a_bad_norm():
    assert _params(CNN(3, 1, 10, 2, 4, norm="batch")) == _params(CNN(3, 1, 10, 2, 4)) + 3 * 2 * 4
    x = _rand(2, 1, 15, 15)
    for norm in ("batch", "none"):
        assert CNN(3, 1, 10, 2, 4, norm=norm)(x).shape == (2, 10)
    for make in (lambda n: CNN(3, 1, 10, 2, 4, norm=n),
                 lambda n: GroupEquivariantCNN(C4, 3, 1, 10, 2, 4, norm=n)):
        with pytest.raises(ValueError, match=r"norm must be one of \('layer', 'batch', 'none'\)"):
            make("group")
