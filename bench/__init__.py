"""The benchmarks, a package so that they share code with each other and with ``tests`` by plain
imports: run each from the repository's root as ``python -m bench.NAME`` (``make bench`` runs
them all through ``python -m bench.run_all``)."""
