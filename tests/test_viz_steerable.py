"""Tests for gcnn.viz.steerable: the basis picture and the per-element comparison of methods."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gcnn.kernels import steerable_basis, steerable_frequencies  # noqa: E402
from gcnn.viz import plot_kernel_methods, plot_steerable_basis  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("k", [3, 5])
def test_basis_draws_every_function_once_by_frequency(k):
    fig = plot_steerable_basis(k)
    shown = [ax for ax in fig.axes if ax.get_visible() and ax.images]
    freqs = steerable_frequencies(k)
    assert len(shown) == freqs.numel() == fig.basis.shape[0]
    assert torch.equal(fig.frequencies, freqs)
    # row r holds the functions of the r-th frequency, in the basis' order
    rows = sorted(set(freqs.tolist()))
    axes = fig.axes
    cols = len(axes) // len(rows)
    for r, m in enumerate(rows):
        funcs = fig.basis[freqs == m]
        for c in range(funcs.shape[0]):
            drawn = axes[r * cols + c].images[0].get_array()
            assert torch.allclose(torch.as_tensor(drawn.data), funcs[c])
        assert axes[r * cols].get_ylabel() == f"m = {m}"


def test_basis_turned_is_the_turned_basis():
    fig = plot_steerable_basis(5, angle=30.0)
    assert torch.allclose(fig.basis, steerable_basis(5, math.radians(30.0)))
    assert "turned by 30°" in fig.get_suptitle()


def _fake(n, low):
    norm = torch.ones(n, dtype=torch.float64)
    norm[1::2] = low
    err = torch.full((n,), 1e-7, dtype=torch.float64)
    err[1::2] = 1 - low
    return {"norm": norm, "lifting": err, "network": err}


def test_kernel_methods_plots_each_method_per_element():
    results = {"interpolate": _fake(8, 0.6), "steerable": _fake(8, 1.0)}
    fig = plot_kernel_methods(results, title="C8")
    ax_norm, ax_err = fig.axes
    for ax in (ax_norm, ax_err):
        lines = [line for line in ax.get_lines() if line.get_label() in results]
        assert [line.get_label() for line in lines] == list(results)
        assert list(lines[0].get_xdata()) == [45.0 * i for i in range(8)]
    norms = [line for line in ax_norm.get_lines() if line.get_label() == "interpolate"][0]
    assert list(norms.get_ydata()) == pytest.approx(results["interpolate"]["norm"].tolist())
    assert ax_err.get_yscale() == "log"
    errs = [line for line in ax_err.get_lines() if line.get_label() == "steerable"][0]
    assert min(errs.get_ydata()) > 0  # an exact zero is drawn at the bottom, not dropped


def test_kernel_methods_needs_results():
    with pytest.raises(ValueError, match="at least one method"):
        plot_kernel_methods({})
