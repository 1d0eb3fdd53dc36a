"""Benchmarks of Incident Portal: ``python bench/run.py`` (or ``make bench``)."""
