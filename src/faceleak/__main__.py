"""``python -m faceleak``: see :mod:`faceleak.cli`."""

import sys

from faceleak.cli import main

sys.exit(main())
