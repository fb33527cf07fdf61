"""The resident's touch UI: a Qt Quick home screen of service tiles, each opening the service in
the kiosk's locked-down browser (``browser/``) for a session that is wiped when it ends; around
them the attract screen, the accessibility menu, speech and the link to the device agent."""
