"""Speed of the gcnn layers, measured side by side in one run.

    python benchmarks/layers.py                      # defaults: CPU, batch 128, 7 repetitions
    python benchmarks/layers.py --device cuda --repeats 10

What it prints (see benchmarks/README.md):

(a) training step of ``GroupEquivariantCNN(C4, 5, 1, 10, num_hidden=4, hidden_channels=16)`` on
    ``[128, 1, 28, 28]`` over the same network holding its expanded kernel banks directly as
    parameters (``ReferenceGCNN``): what the group machinery costs. Target <= 1.10.
(b) the same training step over escnn's C4 network with regular fields (optional: skipped with a
    message when escnn is not installed). Target <= 0.9.
(c) eval-mode inference (``torch.no_grad``, batch 512) with the cached kernel bank (``eval()``)
    over the same model re-expanding the bank on every call (``train()`` mode; the model has no
    dropout or batch norm, so the outputs must be identical, and are checked); again at batch 1,
    where the fixed cost of the expansion weighs most.
(d) the model rebuilt from ``layer.export()`` (plain ``nn.Conv2d``) over ours, both in eval mode.

Every comparison interleaves its candidates (one call of each per repetition, the order
alternating), after a warm-up, and reports medians; a ratio is the median over repetitions of
the ratio of the two times measured in the same repetition, which cancels slow drifts in the load
of a shared machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too

from gcnn import CyclicGroup, GroupEquivariantCNN  # noqa: E402

KERNEL, IN_CHANNELS, CLASSES, NUM_HIDDEN, HIDDEN = 5, 1, 10, 4, 16


# -- models compared ----------------------------------------------------------------------------
def make_gcnn(device: torch.device) -> GroupEquivariantCNN:
    """Ours: the post's C4 network (102,970 parameters)."""
    return GroupEquivariantCNN(
        CyclicGroup(order=4), kernel_size=KERNEL, in_channels=IN_CHANNELS, out_channels=CLASSES,
        num_hidden=NUM_HIDDEN, hidden_channels=HIDDEN,
    ).to(device)


def _conv_layers(model: GroupEquivariantCNN) -> List[nn.Module]:
    return [model.lifting_conv, *model.gconvs]


class ReferenceGCNN(nn.Module):
    """The same network with the expanded kernel banks as plain parameters: no group machinery.

    Each convolution holds ``[C_out * |G|, C_in * |G_in|, k, k]`` directly (copied from
    ``model``'s ``_expand()``, so the outputs agree) and runs the same ``conv2d``; layer norm over
    ``[C, |G|, H, W]`` without affine parameters (as ``GroupLayerNorm``), ReLU, mean over the
    group and space, linear. It is not equivariant once trained: it only measures what the
    kernel expansion costs.
    """

    def __init__(self, model: GroupEquivariantCNN) -> None:
        super().__init__()
        if any(not isinstance(r, nn.Identity) for r in model.restrictions):
            raise ValueError("ReferenceGCNN handles one group for every layer")
        convs = _conv_layers(model)
        with torch.no_grad():
            self.weights = nn.ParameterList(c._expand().detach().clone() for c in convs)
        self.order = model.group.order
        self.out_channels = [c.out_channels for c in convs]
        self.eps = [model.lifting_norm.eps] + [n.eps for n in model.norms]
        self.final_linear = nn.Linear(model.final_linear.in_features, model.final_linear.out_features)
        self.final_linear.load_state_dict(model.final_linear.state_dict())
        self.final_linear.to(model.final_linear.weight.device)

    def forward(self, x: Tensor) -> Tensor:
        b = x.shape[0]
        for w, c, eps in zip(self.weights, self.out_channels, self.eps):
            y = F.conv2d(x.flatten(1, -3), w)  # [B, C_in(*|G|), H, W] -> [B, C_out*|G|, H', W']
            x = y.reshape(b, c, self.order, *y.shape[-2:])
            x = F.relu(F.layer_norm(x, x.shape[1:], eps=eps))
        return self.final_linear(x.mean(dim=(2, 3, 4)))


class ExportedGCNN(nn.Module):
    """Ours rebuilt for inference from each convolution's ``export()`` (plain ``nn.Conv2d``)."""

    def __init__(self, model: GroupEquivariantCNN) -> None:
        super().__init__()
        self.convs = nn.ModuleList(c.export() for c in _conv_layers(model))
        self.norms = nn.ModuleList([model.lifting_norm, *model.norms])
        self.final_linear = model.final_linear

    def forward(self, x: Tensor) -> Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(x)))
        return self.final_linear(x.mean(dim=(2, 3, 4)))


def make_escnn(device: torch.device):
    """escnn's C4 network with regular fields; ``None`` when escnn is not installed.

    ``rot2dOnR2(N=4)``; trivial input field; ``R2Conv`` (kernel 5, no padding, no bias, escnn's
    default basis) to 16 regular fields, then 4 more ``R2Conv`` 16 -> 16 regular fields; after
    each, layer norm as ``F.layer_norm`` over all ``[16 * 4, H, W]`` values of the tensor (escnn has
    no layer norm; normalising over every channel of regular fields with shared statistics keeps
    the layer equivariant, and it is exactly what ``GroupLayerNorm`` computes), then ``ReLU``;
    ``GroupPooling``, mean over space, ``Linear(16, 10)``.
    """
    try:
        from escnn import gspaces
        from escnn import nn as enn
    except ImportError:
        return None

    class _LayerNorm(enn.EquivariantModule):
        def __init__(self, in_type):
            super().__init__()
            self.in_type = self.out_type = in_type

        def forward(self, x):
            t = x.tensor
            return enn.GeometricTensor(F.layer_norm(t, t.shape[1:]), self.out_type)

        def evaluate_output_shape(self, input_shape):
            return input_shape

    class EscnnC4(nn.Module):
        def __init__(self):
            super().__init__()
            gs = gspaces.rot2dOnR2(N=4)
            self.in_type = enn.FieldType(gs, IN_CHANNELS * [gs.trivial_repr])
            hidden = enn.FieldType(gs, HIDDEN * [gs.regular_repr])
            layers, t = [], self.in_type
            for _ in range(NUM_HIDDEN + 1):
                layers += [enn.R2Conv(t, hidden, kernel_size=KERNEL, padding=0, bias=False),
                           _LayerNorm(hidden), enn.ReLU(hidden)]
                t = hidden
            layers.append(enn.GroupPooling(hidden))
            self.body = enn.SequentialModule(*layers)
            self.final_linear = nn.Linear(HIDDEN, CLASSES)

        def forward(self, x: Tensor) -> Tensor:
            y = self.body(enn.GeometricTensor(x, self.in_type)).tensor  # [B, 16, H, W]
            return self.final_linear(y.mean(dim=(2, 3)))

    return EscnnC4().to(device)


# -- timing --------------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(fns: Dict[str, Callable[[], None]], repeats: int, warmup: int,
                device: torch.device, desc: Optional[str] = None) -> Dict[str, List[float]]:
    """Seconds per call of each function: ``warmup`` untimed rounds, then ``repeats`` timed ones.

    Every round calls each function once; the order alternates from round to round. With
    ``desc``, a progress bar on stderr counts the rounds (warm-up included).
    """
    from tqdm.auto import tqdm

    names = list(fns)
    bar = tqdm(total=warmup + repeats, desc=desc, unit="round", disable=desc is None,
               leave=False)
    for _ in range(warmup):
        for name in names:
            fns[name]()
        bar.update(1)
    _sync(device)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            _sync(device)
            t0 = time.perf_counter()
            fns[name]()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
        bar.update(1)
    bar.close()
    return times


def paired_ratios(times: Dict[str, List[float]], num: str, den: str) -> List[float]:
    """``time[num] / time[den]`` for each repetition (both measured in the same one)."""
    return [a / b for a, b in zip(times[num], times[den])]


def paired_ratio(times: Dict[str, List[float]], num: str, den: str) -> float:
    """Median over repetitions of ``time[num] / time[den]``."""
    return statistics.median(paired_ratios(times, num, den))


def spread(times: Dict[str, List[float]], num: str, den: str) -> str:
    rs = sorted(paired_ratios(times, num, den))
    return f"(per repetition {rs[0]:.2f} .. {rs[-1]:.2f})"


def train_step(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, y: Tensor) -> Callable:
    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def infer(model: nn.Module, x: Tensor, calls: int = 1) -> Callable:
    def run() -> None:
        with torch.no_grad():
            for _ in range(calls):
                model(x)
    return run


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def ms(ts: List[float]) -> str:
    return f"{1e3 * statistics.median(ts):8.1f} ms (min {1e3 * min(ts):.1f}, max {1e3 * max(ts):.1f})"


# -- the comparisons ---------------------------------------------------------------------------------
def bench_training(args, device, rows) -> None:
    torch.manual_seed(0)
    ours = make_gcnn(device)
    ref = ReferenceGCNN(ours).to(device)
    escnn_model = make_escnn(device)
    x = torch.randn(args.batch, IN_CHANNELS, 28, 28, device=device)
    y = torch.randint(0, CLASSES, (args.batch,), device=device)
    with torch.no_grad():
        diff = (ours(x) - ref(x)).abs().max().item()
    print(f"\n(a)/(b) training step: forward + cross-entropy + backward + Adam, x = {list(x.shape)}")
    print(f"  params: ours {n_params(ours):,} | reference (expanded banks) {n_params(ref):,}"
          + ("" if escnn_model is None else f" | escnn {n_params(escnn_model):,}"))
    print(f"  ours vs reference before training: max |logit diff| = {diff:.2e}")

    fns = {
        "ours": train_step(ours, torch.optim.Adam(ours.parameters(), 1e-3), x, y),
        "reference": train_step(ref, torch.optim.Adam(ref.parameters(), 1e-3), x, y),
    }
    if escnn_model is not None:
        fns["escnn"] = train_step(
            escnn_model, torch.optim.Adam(escnn_model.parameters(), 1e-3), x, y)
    times = interleaved(fns, args.repeats, args.warmup, device)
    for name, ts in times.items():
        print(f"  {name:<10} {ms(ts)}")

    ra = paired_ratio(times, "ours", "reference")
    print(f"(a) ours / reference (cost of the group machinery): {ra:.2f}  (target <= 1.10) "
          f"{spread(times, 'ours', 'reference')}")
    rows.append(("(a) train step ours / reference", ra, "<= 1.10"))
    if escnn_model is None:
        print("escnn not installed: skipping (b)  (pip install escnn)")
        rows.append(("(b) train step ours / escnn", None, "<= 0.90"))
    else:
        rb = paired_ratio(times, "ours", "escnn")
        print(f"(b) ours / escnn: {rb:.2f}  (target <= 0.90) {spread(times, 'ours', 'escnn')}")
        rows.append(("(b) train step ours / escnn", rb, "<= 0.90"))
    ours_time = statistics.median(times["ours"])
    rows.append(("    ours: train step [ms]", 1e3 * ours_time, ""))


def bench_inference(args, device, rows) -> None:
    torch.manual_seed(1)
    cached = make_gcnn(device).eval()
    uncached = make_gcnn(device)
    uncached.load_state_dict(cached.state_dict())
    uncached.train()  # no dropout or batch norm: train mode only re-expands the kernels
    exported = ExportedGCNN(cached).eval()
    x = torch.randn(args.eval_batch, IN_CHANNELS, 28, 28, device=device)
    with torch.no_grad():
        a, b, c = cached(x), uncached(x), exported(x)
    same = torch.equal(a, b)
    d_exp = (a - c).abs().max().item()
    print(f"\n(c)/(d) inference under torch.no_grad, x = {list(x.shape)}")
    print(f"  params: ours {n_params(cached):,} | exported {n_params(exported):,}")
    print(f"  cached (eval) vs re-expanded (train mode) outputs identical: {same} "
          f"(max |diff| {(a - b).abs().max().item():.1e})")
    print(f"  exported vs ours: max |logit diff| = {d_exp:.2e}")
    if not same:
        print("  WARNING: cached and uncached outputs differ")

    fns = {"cached": infer(cached, x), "uncached": infer(uncached, x),
           "exported": infer(exported, x)}
    times = interleaved(fns, args.repeats, args.warmup, device)
    n = args.eval_batch
    for name, ts in times.items():
        print(f"  {name:<10} {ms(ts)}  = {n / statistics.median(ts):9.0f} images/s")
    rc = paired_ratio(times, "uncached", "cached")  # time ratio = throughput ratio inverted
    rd = paired_ratio(times, "exported", "cached")
    print(f"(c) throughput cached / uncached: {rc:.2f} {spread(times, 'uncached', 'cached')}")
    print(f"(d) throughput ours (cached) / exported: {rd:.2f} "
          f"{spread(times, 'exported', 'cached')}")

    # The expansion is a fixed cost per call: caching it matters most for small batches.
    xs, calls = x[:1], args.small_calls
    fns = {"cached": infer(cached, xs, calls), "uncached": infer(uncached, xs, calls)}
    small = interleaved(fns, args.repeats, args.warmup, device)
    print(f"  batch 1 ({calls} calls per repetition):")
    for name, ts in small.items():
        per = statistics.median(ts) / calls
        print(f"  {name:<10} {1e3 * per:8.2f} ms per call = {1 / per:9.0f} images/s")
    rc1 = paired_ratio(small, "uncached", "cached")
    print(f"(c) batch 1: throughput cached / uncached: {rc1:.2f} "
          f"{spread(small, 'uncached', 'cached')}")
    rows.append(("(c) images/s cached / uncached", rc, "> 1"))
    rows.append(("(c) same, batch 1", rc1, "> 1"))
    rows.append(("(d) images/s ours / exported", rd, "~ 1"))
    rows.append(("    ours: eval images/s", n / statistics.median(times["cached"]), ""))
    rows.append(("    cached == uncached outputs", float(same), "1"))


def machine_info(device: torch.device) -> None:
    print("gcnn layer benchmarks")
    print(f"  python {platform.python_version()}, torch {torch.__version__}, "
          f"{platform.machine()} {platform.system()}")
    print(f"  cpu: {platform.processor() or 'unknown'}, {os.cpu_count()} cores visible, "
          f"torch threads {torch.get_num_threads()}")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()
        print(f"  load average: {', '.join(f'{v:.2f}' for v in load)}")
        if device.type == "cpu" and torch.get_num_threads() > 1 and load[0] > (os.cpu_count() or 1):
            print("  note: the machine is busy; --threads 1 usually gives faster, steadier CPU "
                  "numbers then")
    if device.type == "cuda":
        print(f"  device: {torch.cuda.get_device_name(device)}")
    else:
        print(f"  device: {device}")
    try:
        import escnn
        print(f"  escnn {getattr(escnn, '__version__', '(version unknown)')}")
    except ImportError:
        print("  escnn: not installed")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=128, help="training batch size (default 128)")
    p.add_argument("--eval-batch", type=int, default=512, help="inference batch size (default 512)")
    p.add_argument("--repeats", type=int, default=7, help="timed repetitions (default 7)")
    p.add_argument("--warmup", type=int, default=1, help="untimed repetitions first (default 1)")
    p.add_argument("--small-calls", type=int, default=10,
                   help="batch-1 forward calls per timed repetition in (c) (default 10)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, ...")
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads (default: torch's choice)")
    args = p.parse_args(argv)
    if min(args.repeats, args.batch, args.eval_batch, args.small_calls) < 1 or args.warmup < 0:
        p.error("--batch, --eval-batch, --repeats and --small-calls must be >= 1, --warmup >= 0")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error(f"--device {args.device}: CUDA is not available here")

    machine_info(device)
    print(f"  repetitions: {args.warmup} warm-up + {args.repeats} timed, interleaved")
    start = time.perf_counter()
    rows: list = []
    bench_training(args, device, rows)
    bench_inference(args, device, rows)

    print("\nsummary" + " " * 34 + "value   target")
    for name, value, target in rows:
        shown = "skipped" if value is None else f"{value:.2f}"
        print(f"  {name:<38} {shown:>9}   {target}")
    print(f"(total {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
