"""Settings of the bench's web server (`make bench`): the project's, with the per-IP
booking rate limit off, because one loopback client submits every booking."""

from leadsync.settings import *  # noqa: F403

RATELIMIT_ENABLE = False
