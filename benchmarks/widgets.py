"""How fast the live figure widgets answer a move of a control, the old way and the new way.

    python benchmarks/widgets.py                 # 30 moves each, the shipped cnn and gcnn-c4
    python benchmarks/widgets.py --moves 60 --threads 1

For each widget of :mod:`gcnn.figure_widgets` it times one slider move (or button press) two
ways, interleaved move by move, and prints the median milliseconds side by side:

* old: what ``digit_widget`` did before: build a new figure for the move, lay it out, and
  ``savefig`` it to PNG (``plot_digit_predictions`` + ``figure_png``; for the kernel bank and the
  feature maps, a new panel per move, saved the same way);
* new: the widget itself: its control is moved (``box.slider.value = angle``), which runs the
  model, moves the kept figure's artists and draws it once (``canvas_png``).

Both include the model's forward pass. Digits come from the MNIST test set (``GCNN_DATA``), or
random pictures when it is not there. The target for a move is about 50 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

import gcnn  # noqa: E402
from gcnn import GroupConvolution  # noqa: E402
from gcnn.viz import FeatureMapPanel, KernelBankPanel, plot_digit_predictions  # noqa: E402
from gcnn.viz.style import figure_png  # noqa: E402
from gcnn.widgets import digit_widget, feature_map_widget, kernel_bank_widget  # noqa: E402


def _digits():
    try:
        x, y = gcnn.data.test_set()
        return x[:50], y[:50], "MNIST test digits"
    except Exception as err:  # no MNIST here: random pictures time the same
        print(f"(no MNIST: {type(err).__name__}; timing on random pictures)")
        return torch.rand(50, 1, 28, 28), torch.randint(0, 10, (50,)), "random pictures"


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - t)


def compare(name: str, old, new, moves: int) -> tuple:
    """Median ms of ``old(k)`` and ``new(k)`` over ``moves`` moves, interleaved."""
    old(0), new(0)  # warm-up (first layout, caches)
    t_old, t_new = [], []
    for k in range(1, moves + 1):
        pair = [(t_old, old), (t_new, new)]
        for times, fn in (pair if k % 2 else pair[::-1]):
            times.append(_time(lambda: fn(k)))
    m_old, m_new = statistics.median(t_old), statistics.median(t_new)
    print(f"{name:<22}{m_old:>10.1f}{m_new:>10.1f}{m_old / m_new:>10.1f}x")
    return m_old, m_new


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=30, help="timed moves per widget")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y, what = _digits()
    models = {"CNN": gcnn.pretrained("cnn"), "GCNN (C4)": gcnn.pretrained("gcnn-c4")}
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, matplotlib {matplotlib.__version__}; "
          f"{what}, {args.moves} moves each")
    angle = lambda k: (7 * k) % 360  # noqa: E731  (a new angle every move)
    print(f"{'median ms per move':<22}{'old':>10}{'new':>10}{'old/new':>11}")

    digit = digit_widget(models, x, y, index=3, dpi=80)
    compare("digit_widget",
            lambda k: figure_png(plot_digit_predictions(models, x[3], angle(k), int(y[3]),
                                                        dpi=80), 80),
            lambda k: setattr(digit.slider, "value", float(angle(k))), args.moves)

    torch.manual_seed(0)
    layer = GroupConvolution(gcnn.CyclicGroup(4), 5, 1, 1, bias=False)
    bank = kernel_bank_widget(layer)

    def bank_old(k):
        panel = KernelBankPanel(layer, dpi=100)
        panel.show(k % 4)
        figure_png(panel.fig, 100)

    compare("kernel_bank_widget", bank_old,
            lambda k: setattr(bank.buttons, "value", k % 4), args.moves)

    maps = feature_map_widget(models, x, y, index=3, layer=1)

    def maps_old(k):
        panel = FeatureMapPanel(models, dpi=100)
        panel.show(x[3], angle(k), 1)
        figure_png(panel.fig, 100)

    compare("feature_map_widget", maps_old,
            lambda k: setattr(maps.slider, "value", float(angle(k))), args.moves)


if __name__ == "__main__":
    main()
