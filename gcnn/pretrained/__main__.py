"""``python -m gcnn.pretrained``: list the shipped models, export a run, add a seed's metrics."""

from .cli import main

main()
