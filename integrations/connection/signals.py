"""Events of the connection concern, for concerns above it to subscribe to.

connection_reconnected(sender=SalesforceConnection, connection=...)
    Sent inside the transaction that stored a fresh authorisation, so what waited for the
    connection (held deliveries) can resume without connection code knowing about it.
"""

from django.dispatch import Signal

connection_reconnected = Signal()
