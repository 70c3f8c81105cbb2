from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        # Guest emails follow every change (Django's documented place for receivers).
        from bookings import receivers  # noqa: F401
