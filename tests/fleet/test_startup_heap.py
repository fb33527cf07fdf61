"""What `fleet serve` built at start-up is left out of later garbage collections."""

from __future__ import annotations

import gc

from fleet.main import freeze_startup_heap


def test_the_startup_heap_is_frozen() -> None:
    before = gc.get_freeze_count()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > before
        # A full collection no longer walks them.
        assert gc.get_freeze_count() >= len(gc.get_objects(generation=2)) - before
    finally:
        gc.unfreeze()
