"""What every long-lived process of the project does once it has loaded the application
(gunicorn workers: leadsync/gunicorn.conf.py; Celery pool processes: leadsync/celery.py).
"""

import gc


def startup_objects_freeze() -> None:
    """Move every object alive now (modules, classes, settings, URL patterns, templates
    loaded) out of the cyclic garbage collector's reach: they live as long as the process,
    so examining them again in every full collection is wasted work. In a push worker a
    full collection walked them for 0.2-0.4 s, about a fifth of the worker's CPU for a
    5,000-booking drain. Forked children also stop touching those objects' pages, so they
    stay shared with the parent. https://docs.python.org/3/library/gc.html#gc.freeze"""
    gc.freeze()
