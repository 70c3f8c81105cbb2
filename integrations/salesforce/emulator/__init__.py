"""A local Salesforce (OAuth web server flow + a REST subset) for the demo, tests and benchmarks.

Stand-alone on purpose: it imports nothing from Django or the rest of LeadSync, so it
runs as its own process (``python -m integrations.salesforce.emulator``) or in-process
(``EmulatorServer``). Behaviour follows ``reference/salesforce-api.md``; the only
additions real Salesforce lacks are the ``/__emulator__/`` admin API (admin_api.py)
and the fault switches behind it (faults.py).
"""

from .org import (
    DEFAULT_CALLBACK_URL,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    Org,
)
from .server import EmulatorServer

__all__ = [
    "DEFAULT_CALLBACK_URL",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "EmulatorConfig",
    "EmulatorServer",
    "Org",
]
