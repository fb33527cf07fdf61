"""Open boundary data shipped with the fleet, for the dashboard's plan (see README.md)."""
