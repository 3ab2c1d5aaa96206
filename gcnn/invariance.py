"""Invariance by averaging over the orbit: wrap any model, average its outputs over turned inputs.

If ``f`` is any classifier and ``A`` a set of angles, ``OrbitAverage(f, A)(x)`` is the mean of
``log_softmax(f(turn(x, a)))`` over ``a`` in ``A``. When the turns ``A`` form a group under the
action on the input (``{0, 90, 180, 270}``: every turn of a turned input is again one of the
turns), turning the input only permutes the terms of the mean, so the average is *invariant*,
whatever ``f`` is: exactly for quarter turns (pixel permutations), up to interpolation for other
angles. A model that is already invariant to a subgroup needs only the cosets: a ``C4`` model
averaged over ``{0, 45}`` is ``C8``-invariant, exactly for multiples of 90° and up to the
interpolation of the 45° turns (the turned input is resampled).

The price is ``len(angles)`` forward passes per input.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from .data import rotate
from .groups import CyclicGroup, Group

__all__ = ["OrbitAverage", "turn"]

OUTPUTS = ("log_probs", "logits", "probs")


def turn(x: Tensor, angle: float) -> Tensor:
    """Turn images ``[B, C, H, W]`` by ``angle`` degrees (clockwise), exactly when possible.

    Multiples of 90° are pixel permutations (:func:`torch.rot90`, square images); other angles use
    :func:`gcnn.data.rotate` (bilinear), which agrees with the exact turns up to round-off.
    """
    a = float(angle) % 360.0
    quarter = round(a / 90.0)
    if abs(a - 90.0 * quarter) < 1e-9 and x.shape[-1] == x.shape[-2]:
        return torch.rot90(x, quarter % 4, dims=(-1, -2)) if quarter % 4 else x
    return rotate(x, a)


def _as_angles(angles) -> list:
    if isinstance(angles, Group):
        if not isinstance(angles, CyclicGroup):
            raise TypeError(
                f"angles from a group must be a CyclicGroup (turns only), got {angles!r}; "
                f"pass the angles in degrees instead"
            )
        return [360.0 * i / angles.order for i in range(angles.order)]
    if isinstance(angles, (int, float)) or isinstance(angles, (str, bytes)):
        raise TypeError(
            f"angles must be a sequence of numbers (degrees) or a CyclicGroup, got "
            f"{type(angles).__name__} {angles!r}; e.g. OrbitAverage(model, [0, 45])"
        )
    out = [float(a) for a in torch.as_tensor(list(angles), dtype=torch.float64).reshape(-1)]
    if not out:
        raise ValueError("angles must hold at least one angle (degrees), got none")
    bad = [a for a in out if a != a or a in (float("inf"), float("-inf"))]
    if bad:
        raise ValueError(f"angles must be finite numbers of degrees, got {bad}")
    return out


class OrbitAverage(nn.Module):
    """Average a model's outputs over turned copies of its input: ``[B, C, H, W] -> [B, K]``.

    ``forward(x) = mean over a in angles of out(model(turn(x, a)))``, where ``out`` is
    ``log_softmax`` (``output="log_probs"``, the default: a geometric mean of the probabilities,
    whose ``argmax`` is the prediction; the result is not renormalised), the identity
    (``"logits"``), or ``softmax`` (``"probs"``: the mean of the probabilities). Since
    :meth:`forward` returns log-probabilities by default, train (if at all) with
    :func:`torch.nn.functional.nll_loss`.

    Invariance: if the turns in ``angles`` form a group under composition (``{0, 90, 180,
    270}``, or the ``N`` turns of ``C_N``), the output is invariant to each of them for *any*
    model: exactly for quarter turns, up to interpolation for others. Averaging an already
    ``C_M``-invariant model over coset representatives (a ``C4`` model over ``{0, 45}``) makes it
    invariant to the finer group in the same sense. :attr:`group` is the cyclic group generated
    by the angles when they are the multiples of ``360 / N`` (``in_kind="image"``,
    ``out_kind="invariant"``, so :func:`gcnn.equivariance_error` measures it directly).

    Cost: ``len(angles)`` forward passes of ``model`` per input (and as much time); no new
    parameters.

    Args:
        model: any module mapping ``[B, C, H, W]`` to ``[B, K]``.
        angles: turns in degrees (clockwise on screen, as :func:`gcnn.data.rotate`), or a
            :class:`~gcnn.groups.CyclicGroup` for all its turns.
        output: ``"log_probs"``, ``"logits"`` or ``"probs"``: what is averaged and returned.
    """

    in_kind = "image"
    out_kind = "invariant"

    def __init__(self, model: nn.Module, angles, output: str = "log_probs") -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.model = model
        self.angles = _as_angles(angles)
        self.output = output

    @property
    def group(self) -> Optional[Group]:
        """``C_N`` when the angles are the ``N`` multiples of ``360 / N`` (the group they form),
        else ``None`` (pass ``group=`` to :func:`gcnn.equivariance_error` then)."""
        n = len(self.angles)
        got = sorted(round(a % 360.0, 9) % 360.0 for a in self.angles)
        want = [round(360.0 * i / n, 9) for i in range(n)]
        return CyclicGroup(n) if got == want else None

    @property
    def cost(self) -> int:
        """Forward passes of the wrapped model per input: ``len(angles)``."""
        return len(self.angles)

    def _out(self, y: Tensor) -> Tensor:
        if self.output == "log_probs":
            return torch.log_softmax(y, dim=-1)
        if self.output == "probs":
            return torch.softmax(y, dim=-1)
        return y

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(
                f"OrbitAverage expects images [B, C, H, W] (4 dimensions), got shape "
                f"{list(x.shape)}"
            )
        total = None
        for a in self.angles:
            y = self._out(self.model(turn(x, a)))
            total = y if total is None else total + y
        return total / len(self.angles)

    def extra_repr(self) -> str:
        angles = ", ".join(f"{a:g}" for a in self.angles)
        return (f"angles=[{angles}], output={self.output!r}, "
                f"cost={self.cost} forward passes per input")
