"""Celery tasks of the mapping issue: schema refresh and connection health.

Thin: load rows, call a service."""
