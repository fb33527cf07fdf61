"""``python -m kiosk.agent``: the same as the ``kiosk-agent`` command."""

from kiosk.agent.cli import main

if __name__ == "__main__":
    main()
