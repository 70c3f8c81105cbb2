"""pytest plugin (loaded by pyproject's addopts before Django's settings): the suite runs
with the first-run defaults, as `make test` does, also when pytest is called directly.
Production settings are tested explicitly, in subprocesses (tests/leadsync/test_deployment.py)."""

import os

os.environ.setdefault("DJANGO_DEBUG", "true")
