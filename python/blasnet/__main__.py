"""``python -m blasnet``: the same as the ``blasnet`` command."""

import sys

from .cli import main

sys.exit(main())
