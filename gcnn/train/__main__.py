"""``python -m gcnn.train``: the training command line (:func:`gcnn.train.main`)."""

from . import main

main()
