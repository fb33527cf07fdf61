"""The resident's touch UI: Qt Quick home screen of service tiles (browsing comes later)."""
