"""The year-end benchmark (``make bench``; not part of ``make test``): ``python -m tests.bench``."""
