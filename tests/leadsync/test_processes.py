"""Long-lived processes freeze what they loaded at startup (leadsync.processes)."""

import gc
import runpy

import pytest

from tests.conftest import REPO


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()


def test_a_gunicorn_worker_freezes_what_it_loaded(unfrozen):
    config = runpy.run_path(str(REPO / "leadsync" / "gunicorn.conf.py"))
    config["post_worker_init"](worker=None)
    assert gc.get_freeze_count() > 10_000  # Django, the project, everything imported


def test_a_celery_pool_process_freezes_what_it_loaded(unfrozen):
    from celery.signals import worker_process_init

    worker_process_init.send(sender=None)
    assert gc.get_freeze_count() > 10_000
