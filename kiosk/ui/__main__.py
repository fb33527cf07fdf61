"""``python -m kiosk.ui``: the same as the ``kiosk`` command."""

import sys

from kiosk.ui.main import main

sys.exit(main())
