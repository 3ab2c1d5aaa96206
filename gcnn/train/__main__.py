"""``python -m gcnn.train``: the training command line (:func:`gcnn.train.cli.main`)."""

from .cli import main

main()
