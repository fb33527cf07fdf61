"""Content bundles on the fleet: check, sign with The Update Framework, publish and serve."""
