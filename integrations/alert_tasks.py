"""Celery tasks of the dashboard issue: alerts, digests, retention, bulk resend."""
