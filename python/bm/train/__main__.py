"""``python -m bm.train``: the training command line (bm.train.cli)."""

import sys

from .cli import main

sys.exit(main())
