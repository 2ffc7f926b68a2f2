"""``python -m cxlab`` is the same as the ``cxlab`` command."""

import sys

from cxlab.cli import main

sys.exit(main())
