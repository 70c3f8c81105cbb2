"""A local Salesforce (OAuth web server flow + a REST subset) for the demo, tests and benchmarks.

Stand-alone on purpose: it imports nothing from Django or the rest of LeadSync, so it
runs as its own process (``python -m integrations.salesforce.emulator``) or in-process
(``EmulatorServer``). Behaviour follows ``reference/salesforce-api.md``; the only
additions real Salesforce lacks are the ``/__emulator__/`` admin API (admin_api.py)
and the fault switches behind it (faults.py).

The default org is lived-in, like a customer's (seed.py): Users and a Lead queue,
existing Leads and Contacts, a campaign, the standard duplicate rules (duplicates.py) and
an active Lead assignment rule (assignment.py). ``org="blank"`` (or ``POST
/__emulator__/reset {"org": "blank"}``) gives an empty one. Anything the emulator does
not support fails loudly, in Salesforce's error shape.
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
