"""Celery tasks of the delivery pipeline (thin: load rows, call a service, safe to run twice)."""
