"""``python -m nanobrag.nonbragg``: the ``nanobrag-nonbragg`` command."""
import sys

from .cli import main

sys.exit(main())
