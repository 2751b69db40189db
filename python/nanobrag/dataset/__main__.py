"""``python -m nanobrag.dataset`` = the ``nanobrag-dataset`` command."""
import sys

from .cli import main

sys.exit(main())
