"""Print the smallest text of every figure the book's notebooks show, as a reader sees it.

    PYTHONPATH=$PWD GCNN_DATA=/work/shared/data python scripts/figure_text.py book/*.ipynb
    python scripts/figure_text.py --json sizes.json book/03_rotating_the_goat.ipynb

Each notebook is executed (nbclient, from its own folder) with a first cell that wraps
matplotlib's ``FigureCanvasBase.print_figure``, which ``savefig``, the inline backend and every
frame of an animation go through: each picture saved is measured by
:func:`gcnn.viz.style.rendered_text` with the dpi and cropping it is saved with, in CSS pixels of
a page whose text column is ``--column`` pixels wide (the first frame only of an animation).
The table gives, per figure: notebook, cell index, natural size in pixels, smallest text in CSS
pixels and the text itself; ``!`` marks those under ``--min`` pixels. Nothing is written to the
notebooks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

_HOOK = '''
import json as _json
import matplotlib.backend_bases as _backend_bases
from gcnn.viz.style import rendered_text as _rendered_text

_print_figure = _backend_bases.FigureCanvasBase.print_figure
_measured = set()

def _measuring_print_figure(self, filename, *args, **kwargs):
    fig = self.figure
    key = (id(fig), get_ipython().execution_count)
    if key not in _measured:  # an animation's frames: the first one
        _measured.add(key)
        try:
            dpi = kwargs.get("dpi") or matplotlib.rcParams["savefig.dpi"]
            dpi = fig.dpi if dpi == "figure" else dpi
            bbox = kwargs.get("bbox_inches") or matplotlib.rcParams["savefig.bbox"]
            texts, info = _rendered_text(fig, dpi=dpi, bbox_inches=bbox,
                                         pad_inches=kwargs.get("pad_inches"),
                                         column_px={column})
            row = dict(execution_count=get_ipython().execution_count,
                       natural_px=[round(v) for v in info["natural_px"]],
                       scale=info["scale"], smallest=texts[0] if texts else None)
        except Exception as error:  # never let measuring break the notebook
            row = dict(execution_count=get_ipython().execution_count, error=repr(error))
        with open({log!r}, "a") as log:
            log.write(_json.dumps(row) + "\\n")
    return _print_figure(self, filename, *args, **kwargs)

import matplotlib
_backend_bases.FigureCanvasBase.print_figure = _measuring_print_figure
'''


def measure(path: Path, column: float, timeout: int):
    """Execute the notebook at ``path``; one row per figure saved or shown."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "figures.jsonl")
        hook = nbformat.v4.new_code_cell(_HOOK.format(column=column, log=log))
        nb.cells.insert(0, hook)

        def mark(cell, cell_index):  # the figures logged next come from this cell
            with open(log, "a") as out:
                out.write(json.dumps({"cell": cell_index - 1}) + "\n")

        NotebookClient(nb, timeout=timeout, kernel_name="python3", on_cell_execute=mark,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        rows, cell = [], -1
        for line in open(log):
            row = json.loads(line)
            if "cell" in row:
                cell = row["cell"]
                continue
            row.pop("execution_count")
            rows.append(dict(notebook=path.name, cell=cell, **row))
    return rows


def main(argv) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--column", type=float, default=752.0,
                        help="width of the text column in CSS pixels (default 752)")
    parser.add_argument("--min", type=float, default=12.0,
                        help="smallest legible text in CSS pixels (default 12, 9 pt)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)

    rows = []
    print(f"{'notebook':<28} {'cell':>4} {'size px':>11} {'text px':>8}  text")
    for path in args.notebooks:
        start = time.time()
        found = measure(path.resolve(), args.column, args.timeout)
        for row in found:
            size = "x".join(str(v) for v in row.get("natural_px", ["?", "?"]))
            if "error" in row:
                print(f"{row['notebook']:<28} {row['cell']:>4} {size:>11} {'?':>8}  "
                      f"{row['error']}")
                continue
            px, text = row["smallest"] or (float("inf"), "")
            mark = "!" if px < args.min else " "
            short = text.replace("\n", " ")[:40]
            print(f"{row['notebook']:<28} {row['cell']:>4} {size:>11} {px:>7.1f}{mark}  {short}")
        print(f"# {path.name}: {len(found)} figures, {time.time() - start:.0f} s", flush=True)
        rows += found
    small = [r for r in rows if r.get("smallest") and r["smallest"][0] < args.min]
    print(f"# {len(rows)} figures, {len(small)} with text under {args.min:g} px")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
