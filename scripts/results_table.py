"""Print the results table (markdown) from training runs' metrics.json files.

    python scripts/results_table.py runs/cnn-s0 runs/gcnn-c4-s0 ...
    python scripts/results_table.py            # the shipped gcnn/pretrained/*.json

Runs with the same model, group, augmentation and number of epochs are one row: mean ± standard
deviation over their seeds. Every number in the README's tables comes from this script: the test
accuracies (with parameters and multiply-accumulates per 28x28 image, counted on the rebuilt
model), then the accuracy-vs-angle sweep: accuracy at a few angles, the worst angle of each run,
the mean over the whole circle (what a uniformly turned test set measures) and how far it falls
below upright (what turning costs the model).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from gcnn.digits import macs_per_image, mean_sd, sweep_summary


def _load(path: Path) -> dict:
    file = path / "metrics.json" if path.is_dir() else path
    return json.loads(file.read_text())


def row_key(m: dict) -> str:
    cfg = m["model_config"]
    augmented = m["config"].get("augment", "none") == "rotate"
    extra = " + rotation augmentation" if augmented else ""
    if cfg["model"] == "cnn":
        return f"CNN ({cfg['hidden_channels']} channels){extra}"
    group, channels = cfg["group"], cfg["hidden_channels"]
    if isinstance(group, (list, tuple)):           # one group per convolution
        group = ",".join(group)
    if isinstance(channels, (list, tuple)):
        channels = ",".join(map(str, channels))
    return f"GCNN {group} ({channels} channels){extra}"


def _where(ms) -> str:
    """The device and thread counts of a row's runs: ``cpu, 2 thread(s)``, ``cpu, 1/2 thread(s)``."""
    devices = "/".join(sorted({str(m["device"]) for m in ms}))
    threads = "/".join(sorted({str(m.get("threads", "?")) for m in ms}))
    return f"{devices}, {threads} thread(s)"


def main(argv) -> None:
    paths = [Path(a) for a in argv] or sorted(Path("gcnn/pretrained").glob("*.json"))
    rows = defaultdict(list)
    for p in paths:
        m = _load(p)
        if not m.get("finished", True):
            print(f"skipping unfinished run {p}", file=sys.stderr)
            continue
        rows[row_key(m), m["config"]["epochs"]].append(m)
    print("| model | epochs | seeds | parameters | MACs / image | upright test acc. (%) "
          "| rotated test acc. (%) | s / epoch | device |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (key, epochs), ms in rows.items():
        print(
            f"| {key} | {epochs} | {len(ms)} | {ms[0]['num_parameters']:,} "
            f"| {macs_per_image(ms[0]) / 1e6:.1f} M "
            f"| {mean_sd([m['test_acc'] for m in ms], digits=2)} "
            f"| {mean_sd([m['rotated_test_acc'] for m in ms])} "
            f"| {mean_sd([m['seconds_per_epoch'] for m in ms], scale=1, digits=0)} "
            f"| {_where(ms)} |"
        )
    print()
    print("| model | epochs | digits in the sweep | acc. at 0° (%) | at 45° (%) | at 90° (%) "
          "| at 180° (%) | lowest (%), at angle | mean over 360° (%) | 0° minus mean (points) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (key, epochs), ms in rows.items():
        sweeps = [m["accuracy_vs_angle"] for m in ms]
        at = {a: [s["accuracy"][s["angles"].index(a)] for s in sweeps]
              for a in (0.0, 45.0, 90.0, 180.0)}
        summaries = [sweep_summary(m) for m in ms]
        low_angles = ", ".join(f"{s.lowest_angle:g}°" for s in summaries)
        print(
            f"| {key} | {epochs} | {sweeps[0]['num_digits']:,} "
            + "".join(f"| {mean_sd(v)} " for v in at.values())
            + f"| {mean_sd([s.lowest for s in summaries])} at {low_angles} "
            + f"| {mean_sd([s.mean for s in summaries])} "
            + f"| {mean_sd([s.turning_cost for s in summaries])} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
