"""``kiosk-provision``: the technician's command-line tool."""
