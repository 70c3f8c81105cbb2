from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Salesforce integration"

    def ready(self) -> None:
        # Subscribe to bookings' events (bookings never imports integrations).
        from integrations import receivers  # noqa: F401
