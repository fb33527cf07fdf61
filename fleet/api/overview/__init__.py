"""The dashboard's overview, built outside the routes that serve it (``routes/dashboard.py`` and
``routes/events.py``): ``table`` (filter, order and page, in SQL), ``map`` (the city map and its
clusters), ``context`` (everything the page shows, in one dictionary) and ``changes`` (the
fingerprint that tells the live stream when to render again).
"""
