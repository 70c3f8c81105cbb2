"""The Celery app. All configuration lives in settings under the CELERY_ namespace."""

import os

from celery import Celery
from celery.signals import worker_process_init

from leadsync.processes import startup_objects_freeze

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsync.settings")

app = Celery("leadsync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="leadsync.ping")
def ping() -> str:
    """Liveness probe for workers: returns "pong". Used by health checks and tests."""
    return "pong"


@worker_process_init.connect
def _process_ready(**kwargs) -> None:
    """A pool process has started: see leadsync.processes."""
    startup_objects_freeze()
