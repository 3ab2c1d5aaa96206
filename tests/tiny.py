"""Settings and fake results shared by several test files (imported as ``tiny``)."""

from __future__ import annotations

# A tiny G-CNN on a few hundred digits: seconds, not minutes, on two CPU cores.
TINY = dict(model="gcnn", group="C4", hidden_channels=4, num_hidden=2, epochs=2, batch_size=32,
            train_subset=256, eval_subset=100, angle_step=90.0)

#: Side of the random "digits" of the ``digits`` fixture.
SIZE = 15


def fake_metrics(acc0: float, with_sweep: bool = True) -> dict:
    """A finished run's metrics.json with accuracy ``acc0`` upright (and at every angle)."""
    m = {"test_acc": acc0, "rotated_test_acc": acc0 / 2, "rotated_test_acc_first2000": 0.4,
         "num_parameters": 102970, "best_epoch": 7, "config": {"epochs": 10},
         "seconds_per_epoch": 123.4, "device": "cpu", "threads": 2}
    if with_sweep:
        angles = [float(a) for a in range(0, 360, 5)]
        m["accuracy_vs_angle"] = {"angles": angles, "accuracy": [acc0] * len(angles),
                                  "num_digits": 10000}
    return m


def fake_seed(acc0: float, seed: int) -> dict:
    """:func:`fake_metrics` of one seed."""
    m = fake_metrics(acc0)
    m["config"] = {"epochs": 10, "seed": seed}
    return m
