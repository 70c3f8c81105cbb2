"""Receivers of bookings signals (connected in IntegrationsConfig.ready)."""
