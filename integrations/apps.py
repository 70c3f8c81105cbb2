from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Salesforce integration"

    def ready(self) -> None:
        # Subscribe to bookings' and the connection's events (bookings never imports
        # integrations; connection never imports delivery). Django's documented place.
        from integrations.delivery import receivers  # noqa: F401
