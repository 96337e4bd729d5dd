"""``python -m faceleak``: see :mod:`faceleak.cli`."""

import sys

from .cli import main

sys.exit(main())
