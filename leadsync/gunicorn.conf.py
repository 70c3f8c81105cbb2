"""gunicorn's configuration: `gunicorn leadsync.wsgi:application -c leadsync/gunicorn.conf.py`
(docker-compose's web service). Values come from Django's settings, the one place that
reads the environment.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsync.settings")

from django.conf import settings  # read after DJANGO_SETTINGS_MODULE is set

# gunicorn sets the request's scheme from X-Forwarded-Proto (and its other secure-scheme
# headers) only when they come from these addresses; its default, loopback, would let any
# local process claim https. No proxy (LEADSYNC_TRUSTED_PROXY_COUNT=0): nobody. Behind
# proxies: their addresses or networks, LEADSYNC_TRUSTED_PROXY_IPS.
forwarded_allow_ips = ",".join(settings.TRUSTED_PROXY_IPS) if settings.TRUSTED_PROXY_COUNT else ""


def post_worker_init(worker) -> None:
    """The application is loaded: what it loaded lives as long as the worker."""
    from leadsync.processes import startup_objects_freeze

    startup_objects_freeze()
