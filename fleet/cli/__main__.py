"""``python -m fleet.cli``: how the ingest supervisor starts each ingest process."""

from fleet.cli import main

main()
