"""Group axioms and the actions of C_N and D_N (gcnn.groups)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnn import CyclicGroup, DihedralGroup, coordinate_grid

SETTINGS = settings(max_examples=15, deadline=None, database=None)  # randomised: see conftest

CYCLIC_ORDERS = [1, 2, 3, 4, 5, 6, 7, 8, 16]
DIHEDRAL_ORDERS = [1, 2, 3, 4, 5, 6]
GROUPS = [CyclicGroup(order=n) for n in CYCLIC_ORDERS] + [
    DihedralGroup(order=n) for n in DIHEDRAL_ORDERS
]


def _name(group) -> str:
    return f"{type(group).__name__[0]}{group.n}"


def _matrices(group, h=None):
    h = group.elements() if h is None else h
    return group.matrix_representation(h).double()


groups = pytest.mark.parametrize("group", GROUPS, ids=_name)


# -- elements -----------------------------------------------------------------------------------
@groups
def test_elements_shape_and_identity_first(group):
    n = group.n
    if isinstance(group, CyclicGroup):
        assert group.elements().shape == (n,)
        assert group.order == len(group) == n
    else:
        assert group.elements().shape == (2 * n, 2)
        assert group.order == len(group) == 2 * n
    assert torch.allclose(_matrices(group, group.identity), torch.eye(2, dtype=torch.float64))
    assert len(group.element_names()) == group.order
    assert group.elements(torch.float64).dtype == torch.float64


@groups
def test_elements_are_distinct(group):
    mats = _matrices(group).reshape(group.order, 4)
    dist = torch.cdist(mats, mats) + torch.eye(group.order, dtype=torch.float64) * 10
    assert dist.min() > 1e-3


# -- the group law ---------------------------------------------------------------------------------
@groups
def test_closure_product_matches_matrix_product(group):
    """g_i · g_j is an element, and its matrix is the product of the two matrices."""
    table = group.cayley_table()
    n = group.order
    assert table.shape == (n, n) and table.dtype == torch.long
    assert table.min() >= 0 and table.max() < n
    mats = _matrices(group)
    expected = mats[:, None] @ mats[None, :]  # [n, n, 2, 2]
    assert torch.allclose(mats[table], expected, atol=1e-5)


@groups
def test_identity_row_and_column(group):
    table = group.cayley_table()
    ar = torch.arange(group.order)
    assert torch.equal(table[0], ar)
    assert torch.equal(table[:, 0], ar)


@groups
def test_inverse(group):
    table = group.cayley_table()
    inv = group.inverse_indices()
    ar = torch.arange(group.order)
    assert torch.equal(table[ar, inv], torch.zeros_like(ar))
    assert torch.equal(table[inv, ar], torch.zeros_like(ar))
    assert torch.equal(inv[inv], ar)  # (g⁻¹)⁻¹ = g
    # the inverse of an orthogonal matrix is its transpose
    mats = _matrices(group)
    assert torch.allclose(_matrices(group, group.inverse(group.elements())), mats.transpose(-1, -2), atol=1e-5)


@groups
def test_associativity(group):
    t = group.cayley_table()
    n = group.order
    i, j, k = torch.meshgrid(torch.arange(n), torch.arange(n), torch.arange(n), indexing="ij")
    assert torch.equal(t[t[i, j], k], t[i, t[j, k]])


@groups
def test_cayley_table_is_latin_square(group):
    t = group.cayley_table()
    ar = torch.arange(group.order)
    assert torch.equal(t.sort(dim=1).values, ar.expand_as(t))
    assert torch.equal(t.sort(dim=0).values, ar[:, None].expand_as(t))


def test_cyclic_table_is_addition_mod_n():
    for n in CYCLIC_ORDERS:
        ar = torch.arange(n)
        assert torch.equal(CyclicGroup(n).cayley_table(), (ar[:, None] + ar[None, :]) % n)


def test_dihedral_is_not_abelian_for_n_at_least_3():
    for n in DIHEDRAL_ORDERS:
        t = DihedralGroup(n).cayley_table()
        assert torch.equal(t, t.T) == (n <= 2)


# -- matrices and determinants ---------------------------------------------------------------------
@groups
def test_matrices_orthogonal_with_right_determinant(group):
    mats = _matrices(group)
    eye = torch.eye(2, dtype=torch.float64).expand_as(mats)
    assert torch.allclose(mats @ mats.transpose(-1, -2), eye, atol=1e-6)
    det = torch.linalg.det(mats)
    if isinstance(group, CyclicGroup):
        expected = torch.ones(group.order, dtype=torch.float64)
    else:  # N rotations, then N reflections
        expected = torch.cat([torch.ones(group.n), -torch.ones(group.n)]).double()
    assert torch.allclose(det, expected, atol=1e-6)
    assert torch.allclose(group.determinant(group.elements()).double(), expected, atol=1e-6)


def test_dihedral_reflection_mirrors_x():
    f = DihedralGroup(4).elements()[4]
    assert torch.allclose(_matrices(DihedralGroup(4), f), torch.tensor([[-1.0, 0.0], [0.0, 1.0]]).double(), atol=1e-7)


@groups
def test_normalize_group_elements_in_unit_interval(group):
    z = group.normalize_group_elements(group.elements())
    assert z.shape == group.elements().shape
    assert z.min() >= -1 - 1e-6 and z.max() <= 1 + 1e-6
    if group.n > 1:  # the extremes are used, and distinct elements stay distinct
        assert torch.isclose(z.min(), torch.tensor(-1.0)) and torch.isclose(z.max(), torch.tensor(1.0))
        flat = z.reshape(group.order, -1).double()
        dist = torch.cdist(flat, flat) + 10 * torch.eye(group.order, dtype=torch.float64)
        assert dist.min() > 1e-3


# -- actions ---------------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_left_action_on_H(data):
    group = data.draw(st.sampled_from(GROUPS), label="group")
    n = group.order
    idx_a = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5), label="a")
    idx_b = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5), label="b")
    el = group.elements()
    out = group.left_action_on_H(el[idx_a], el[idx_b])
    assert out.shape == (len(idx_a), len(idx_b), *el.shape[1:])
    table = group.cayley_table()
    got = group.index_of(out.reshape(-1, *el.shape[1:])).reshape(len(idx_a), len(idx_b))
    assert torch.equal(got, table[idx_a][:, idx_b])
    # a single element is accepted as a batch of one
    assert group.left_action_on_H(el[idx_a[0]], el[idx_b]).shape == (1, len(idx_b), *el.shape[1:])


def test_left_action_on_H_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\[n, 2\].*\[3, 3\]"):
        DihedralGroup(4).left_action_on_H(torch.zeros(3, 3), DihedralGroup(4).elements())


@SETTINGS
@given(
    group=st.sampled_from(GROUPS),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
)
def test_left_action_on_R2_shape_identity_and_values(group, height, width):
    grid = coordinate_grid(height, width)
    out = group.left_action_on_R2(group.elements(), grid)
    assert out.shape == (group.order, height, width, 2)
    # the identity leaves the grid unchanged
    assert torch.allclose(out[0], grid.permute(1, 2, 0), atol=1e-7)
    # every element moves each point by its matrix
    mats = group.matrix_representation(group.elements())
    expected = torch.einsum("nij,jhw->nhwi", mats, grid)
    assert torch.allclose(out, expected, atol=1e-6)
    # lengths are kept (orthogonal matrices)
    assert torch.allclose(out.norm(dim=-1), grid.norm(dim=0).expand(group.order, -1, -1), atol=1e-5)


@pytest.mark.parametrize("group", [CyclicGroup(4), DihedralGroup(4)], ids=_name)
def test_quarter_turn_moves_grid_points(group):
    """Element 1 is the 90° rotation: (x, y) -> (-y, x); with rows downwards, clockwise."""
    grid = coordinate_grid(5)
    x, y = grid
    out = group.left_action_on_R2(group.elements()[1], grid)[0]
    assert torch.allclose(out[..., 0], -y, atol=1e-6)
    assert torch.allclose(out[..., 1], x, atol=1e-6)
    # the top-centre point (0, -1) goes to the right-centre point (1, 0): clockwise on screen
    assert torch.allclose(out[0, 2], torch.tensor([1.0, 0.0]), atol=1e-6)


def test_reflection_moves_grid_points():
    grid = coordinate_grid(4, 6)
    out = DihedralGroup(4).left_action_on_R2(DihedralGroup(4).elements()[4], grid)[0]
    assert torch.allclose(out[..., 0], -grid[0], atol=1e-7)
    assert torch.allclose(out[..., 1], grid[1], atol=1e-7)


def test_left_action_on_R2_rejects_bad_grid():
    with pytest.raises(ValueError, match=r"\[2, H, W\].*\[3, 4, 4\]"):
        CyclicGroup(4).left_action_on_R2(CyclicGroup(4).elements(), torch.zeros(3, 4, 4))


def test_coordinate_grid():
    grid = coordinate_grid(3, 5)
    assert grid.shape == (2, 3, 5)
    assert torch.allclose(grid[0, 0], torch.linspace(-1, 1, 5))  # x along the width
    assert torch.allclose(grid[1, :, 0], torch.linspace(-1, 1, 3))  # y along the height
    assert torch.equal(coordinate_grid(1), torch.zeros(2, 1, 1))
    with pytest.raises(ValueError, match="height=0"):
        coordinate_grid(0, 3)


# -- looking elements up -------------------------------------------------------------------------
@groups
def test_index_of_round_trip(group):
    assert torch.equal(group.index_of(group.elements()), torch.arange(group.order))
    # angles that differ by a full turn are the same element
    if isinstance(group, CyclicGroup):
        shifted = group.elements() + 2 * math.pi
        assert torch.equal(group.index_of(shifted), torch.arange(group.order))


def test_index_of_rejects_non_elements():
    with pytest.raises(ValueError, match="not in"):
        CyclicGroup(4).index_of(torch.tensor([0.3]))


# -- subgroups -----------------------------------------------------------------------------------
@pytest.mark.parametrize("m", range(1, 9))
@pytest.mark.parametrize("n", range(1, 9))
def test_cyclic_subgroups(m, n):
    assert CyclicGroup(m).is_subgroup_of(CyclicGroup(n)) == (n % m == 0)


@pytest.mark.parametrize("m", DIHEDRAL_ORDERS)
@pytest.mark.parametrize("n", DIHEDRAL_ORDERS)
def test_dihedral_subgroups(m, n):
    assert DihedralGroup(m).is_subgroup_of(DihedralGroup(n)) == (n % m == 0)
    assert CyclicGroup(m).is_subgroup_of(DihedralGroup(n)) == (n % m == 0)
    assert not DihedralGroup(m).is_subgroup_of(CyclicGroup(n))  # reflections are not rotations


@groups
def test_trivial_group_and_self_are_subgroups(group):
    assert CyclicGroup(1).is_subgroup_of(group)
    assert group.is_subgroup_of(group)
    if isinstance(group, DihedralGroup):
        assert CyclicGroup(group.n).is_subgroup_of(group)


def test_embedding_into():
    assert torch.equal(CyclicGroup(4).embedding_into(CyclicGroup(8)), torch.tensor([0, 2, 4, 6]))
    assert torch.equal(CyclicGroup(4).embedding_into(DihedralGroup(4)), torch.arange(4))
    with pytest.raises(ValueError, match="not a subgroup"):
        CyclicGroup(8).embedding_into(CyclicGroup(4))


def test_is_subgroup_of_needs_a_group():
    with pytest.raises(TypeError, match="expected a Group, got int"):
        CyclicGroup(4).is_subgroup_of(4)


# -- construction errors -------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [CyclicGroup, DihedralGroup])
@pytest.mark.parametrize("order", [0, -3])
def test_order_below_one_raises(cls, order):
    with pytest.raises(ValueError, match=rf"at least 1, got {order}"):
        cls(order=order)


@pytest.mark.parametrize("cls", [CyclicGroup, DihedralGroup])
@pytest.mark.parametrize("order, typename", [(4.0, "float"), ("4", "str"), (True, "bool")])
def test_non_int_order_raises(cls, order, typename):
    with pytest.raises(TypeError, match=rf"int, got {typename}"):
        cls(order=order)


@pytest.mark.parametrize("cast", ["half", "bfloat16", "double", "float64", "meta"])
@pytest.mark.parametrize("cls", [CyclicGroup, DihedralGroup])
def test_casting_leaves_the_elements_exact(cls, cast):
    # A group is a constant: .half(), .to(dtype) or .to(device) on it (or on a model holding
    # it) leave its elements as they were made, so other models sharing it keep working.
    g = cls(8)
    before = g.elements().clone()
    table = g.cayley_table()
    if cast == "half":
        g.half()
    else:
        g.to({"bfloat16": torch.bfloat16, "double": torch.double, "float64": torch.float64,
              "meta": torch.device("meta")}[cast])
    assert g.elements().dtype == before.dtype and g.elements().device == before.device
    assert torch.equal(g.elements(), before) and torch.equal(g.cayley_table(), table)
    assert CyclicGroup(4).is_subgroup_of(g)
    # elements in another precision are computed afresh, not cast
    assert g.elements(torch.float64).dtype == torch.float64
    assert torch.allclose(g.elements(torch.float64), before.double(), atol=1e-6)


@pytest.mark.parametrize("cls", [CyclicGroup, DihedralGroup])
def test_elements_are_not_a_buffer_or_state(cls):
    g = cls(4)
    assert list(g.buffers()) == [] and list(g.parameters()) == [] and g.state_dict() == {}
