"""The training loop: fit one model on upright digits, keep the best epoch, test it rotated.

Models are trained on upright digits only; after every epoch the upright validation accuracy
picks the best checkpoint, which is then tested on upright digits, on the fixed rotated test set
and at every ``angle_step`` degrees. ``augment="rotate"`` turns every training digit by a fresh
random angle, uniform in [0°, 360°), each time it is drawn (bilinear, as the rotated test set).

A learning-rate schedule (``lr_schedule``) is stepped after every batch and laid out over the
run's ``epochs``. With ``test_orbit`` the best model is also tested averaged over those input
turns (:class:`~gcnn.invariance.OrbitAverage`), recorded under ``"orbit_average"``.

A run directory holds ``best.pt`` (the best model by validation accuracy), ``last.pt``
(everything needed to resume: model, optimizer, learning-rate schedule, epoch, random states,
history; :mod:`gcnn.train.state`) and ``metrics.json``; all are written atomically
(:mod:`gcnn.checkpoint`). A resumed run ends with the same weights and metrics as an
uninterrupted one (on the CPU, bit for bit).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from pathlib import Path
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import data
from ..checkpoint import load_model, remove_temporaries, write_json_atomic
from ..experiments import TrainConfig
from ..invariance import OrbitAverage
from ..metrics import accuracy_vs_angle, evaluate
from .checks import check_device, validate_run
from .state import _Run

__all__ = ["FIRST_N_ROTATED", "pick_device", "train"]

#: Digits of the fixed rotated test set whose accuracy is recorded exactly for later checks.
FIRST_N_ROTATED = 2000


def pick_device(name: Optional[str] = None) -> torch.device:
    """``None``/``"auto"``: CUDA if present, else Apple MPS, else the CPU; otherwise ``name``.

    Raises:
        ValueError: ``name`` is unknown or not on this machine (:func:`check_device`).
    """
    return check_device(name)


@contextlib.contextmanager
def _run_folder(out: Path):
    """Make ``out`` for a run, clear orphan temporary files; if the start fails, undo it.

    Folders this call creates are removed again (when still empty) if the block raises, so a
    failed start (no data, a refused resume, Ctrl-C in the first epoch) leaves nothing behind.
    """
    made = [p for p in [out, *out.parents] if not p.exists()]  # deepest first
    out.mkdir(parents=True, exist_ok=True)
    remove_temporaries(out)  # left by a run killed while writing (kill -9)
    try:
        yield
    except BaseException:
        remove_temporaries(out)
        for folder in made:
            try:
                folder.rmdir()  # only if empty: whatever was written stays
            except OSError:
                break
        raise


def _subset(pair: Tuple[Tensor, Tensor], n: Optional[int]) -> Tuple[Tensor, Tensor]:
    x, y = pair
    return (x, y) if n is None else (x[:n], y[:n])




def _train_epoch(model, opt, x, y, batch_size, shuffle, device, progress, desc, augment=None,
                 scheduler=None):
    """One pass over ``x``; ``augment`` (a generator) turns each batch by random angles;
    ``scheduler`` (a learning-rate schedule) steps after every batch."""
    model.train()
    n = x.shape[0]
    perm = torch.randperm(n, generator=shuffle)
    steps = math.ceil(n / batch_size)
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    loss_sum = torch.zeros((), device=device, dtype=acc_dtype)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    seen = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=desc, unit="batch", leave=False, dynamic_ncols=True)
    try:
        for step in range(steps):
            idx = perm[step * batch_size : (step + 1) * batch_size]
            xb = x[idx.to(x.device)].to(device, non_blocking=True)
            yb = y[idx.to(y.device)].to(device, non_blocking=True)
            if augment is not None:
                xb = data.rotate(xb, torch.rand(idx.numel(), generator=augment,
                                                dtype=torch.float64) * 360.0)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if scheduler is not None:
                scheduler.step()
            loss_sum += loss.detach().to(acc_dtype) * idx.numel()
            correct += (logits.detach().argmax(dim=1) == yb).sum()
            seen += idx.numel()
            if bar is not None:
                bar.update(1)
                if step % 10 == 0 or step == steps - 1:
                    bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}",
                                    acc=f"{correct.item() / seen:.4f}")
    finally:
        if bar is not None:
            bar.close()
    loss_value = loss_sum.item() / seen
    if not math.isfinite(loss_value):
        raise FloatingPointError(f"the training loss became {loss_value}; try a lower --lr")
    return loss_value, correct.item() / seen


def _final_metrics(model, cfg: TrainConfig, root, progress: bool) -> dict:
    """Test the (best) model: upright, fixed rotated, its first 2,000 and the angle sweep; with
    ``cfg.test_orbit`` the same again for the model averaged over those turns, and that model's
    accuracy on the upright validation split (``"val_acc"``: the number a choice between
    candidates uses, :func:`gcnn.selection.choose_best`)."""
    result = _test(model, cfg, root, progress)
    if cfg.test_orbit is not None:
        wrapped = OrbitAverage(model, cfg.test_orbit)
        val_x, val_y = _subset(data.val_set(root), cfg.eval_subset)
        result["orbit_average"] = {"angles": list(wrapped.angles),
                                   "forward_passes": wrapped.cost,
                                   # the upright validation split, on which models are chosen
                                   "val_acc": evaluate(wrapped, val_x, val_y),
                                   **_test(wrapped, cfg, root, progress)}
    return result


def _test(model, cfg: TrainConfig, root, progress: bool) -> dict:
    """Upright, fixed rotated, its first 2,000 and the angle sweep."""
    test = _subset(data.test_set(root), cfg.eval_subset)
    rot_x, rot_y = data.fixed_rotated_test_set(root)
    rot = _subset((rot_x, rot_y), cfg.eval_subset)
    angles = [float(a) for a in torch.arange(0.0, 360.0, cfg.angle_step, dtype=torch.float64)]
    sizes = [n for n in (cfg.sweep_subset, cfg.eval_subset) if n is not None]
    sweep_x, sweep_y = _subset(data.test_set(root), min(sizes) if sizes else None)
    sweep = accuracy_vs_angle(model, angles, sweep_x, sweep_y, progress=progress)
    return {
        "test_acc": evaluate(model, *test),
        "rotated_test_acc": evaluate(model, *rot),
        "rotated_test_acc_first2000": evaluate(
            model, rot_x[:FIRST_N_ROTATED], rot_y[:FIRST_N_ROTATED]),
        "accuracy_vs_angle": {"angles": angles, "accuracy": sweep,
                              "num_digits": int(sweep_x.shape[0])},
        "eval_sizes": {"test": int(test[0].shape[0]), "rotated_test": int(rot[0].shape[0]),
                       "rotated_test_first2000": min(FIRST_N_ROTATED, int(rot_x.shape[0]))},
    }




def train(
    cfg: TrainConfig,
    out: Union[str, os.PathLike],
    *,
    root=None,
    device=None,
    resume: bool = False,
    stop_after: Optional[int] = None,
    progress: bool = True,
    command: Optional[str] = None,
) -> dict:
    """Train one model and write ``best.pt``, ``last.pt`` and ``metrics.json`` into ``out``.

    Args:
        cfg: the run's settings (:class:`~gcnn.experiments.TrainConfig`).
        out: the run directory (created if needed).
        root: MNIST directory (see :func:`gcnn.data.data_root`).
        device: ``None``/``"auto"`` picks CUDA, MPS or the CPU.
        resume: continue from ``out/last.pt`` (its settings must match ``cfg``, except that
            ``epochs`` may grow). Without ``resume`` an existing ``last.pt`` is an error.
        stop_after: stop after this many epochs *in this call* (as if interrupted; for tests
            and time budgets); ``metrics.json`` then says ``"finished": false``.
        progress: show tqdm progress bars.
        command: the command line to record (the CLI passes it).

    Returns:
        The metrics dictionary written to ``metrics.json``.

    Raises:
        ValueError: a setting, the device or ``out`` is wrong (:func:`validate_run`), or
            ``resume`` asks for fewer epochs than ``last.pt`` holds; all before any data is
            loaded. A start that fails removes the folders it created.
        FileExistsError: ``out`` holds a run and ``resume`` is off.
        CheckpointError: ``last.pt`` is unreadable or was written with other settings.
    """
    t_start = time.perf_counter()
    cfg = cfg.resolved()
    dev = validate_run(cfg, out, device=device)
    out = Path(out)
    with _run_folder(out):
        return _fit(cfg, _start(cfg, out, dev, resume), root, stop_after, progress, command,
                    resume, t_start)


def _start(cfg: TrainConfig, out: Path, dev: torch.device, resume: bool) -> "_Run":
    """The run's state: new, or read from ``last.pt`` (all checks before any data is loaded)."""
    run = _Run(cfg, out, dev)
    if resume:
        run.resume()
    elif run.last_path.exists():
        raise FileExistsError(f"{out} already holds a run ({run.last_path}); pass --resume to "
                              f"continue it, or choose another --out directory")
    return run


def _fit(cfg: TrainConfig, run: "_Run", root, stop_after, progress, command, resume,
         t_start: float) -> dict:
    """Load the data, train the remaining epochs, test the best model when all are done."""
    dev = run.dev
    train_x, train_y = _subset(data.train_set(root), cfg.train_subset)
    val_x, val_y = _subset(data.val_set(root), cfg.eval_subset)
    if dev.type != "cpu":  # the whole training set fits on any accelerator: move it once
        train_x, train_y = train_x.to(dev), train_y.to(dev)
    run.start_schedule(math.ceil(train_x.shape[0] / cfg.batch_size))

    def elapsed() -> float:
        return run.elapsed_before + (time.perf_counter() - t_start)

    def metrics() -> dict:
        return run.metrics(int(train_x.shape[0]), int(val_x.shape[0]), elapsed(), command,
                           resume)

    epochs_run = 0
    for epoch in range(run.start_epoch, cfg.epochs):
        if stop_after is not None and epochs_run >= stop_after:
            break
        t0 = time.perf_counter()
        loss, acc = _train_epoch(run.model, run.opt, train_x, train_y, cfg.batch_size,
                                 run.shuffle, dev, progress,
                                 desc=f"epoch {epoch + 1}/{cfg.epochs}", augment=run.augment,
                                 scheduler=run.scheduler)
        seconds = time.perf_counter() - t0
        val_acc = evaluate(run.model, val_x, val_y)
        run.history.append({"epoch": epoch + 1, "train_loss": loss, "train_acc": acc,
                            "val_acc": val_acc, "seconds": seconds})
        run.save(epoch + 1, val_acc, elapsed())
        write_json_atomic(metrics(), run.metrics_path)
        if progress:
            print(f"epoch {epoch + 1}/{cfg.epochs}: train loss {loss:.4f}, train acc {acc:.4f}, "
                  f"val acc {val_acc:.4f} ({seconds:.1f} s)", file=sys.stderr, flush=True)
        epochs_run += 1

    completed = run.history[-1]["epoch"] if run.history else 0
    result = metrics()
    if completed >= cfg.epochs:
        result.update(_final_metrics(load_model(run.best_path, dev), cfg, root, progress))
        result["finished"] = True
        result["wall_time_seconds"] = elapsed()
    write_json_atomic(result, run.metrics_path)
    return result
