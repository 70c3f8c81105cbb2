from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.demo import demo_setup


class Command(BaseCommand):
    help = "Create the demo tenant and login (idempotent) and print how to sign in."

    def handle(self, *args, **options) -> None:
        if not settings.DEVELOPMENT_DEFAULTS:
            raise CommandError(
                "demo_setup creates a login with a published password; it runs only with "
                "the first-run defaults (DJANGO_DEBUG=true)."
            )
        demo = demo_setup()
        state = "created" if demo.created else "already there"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo tenant '{demo.tenant.name}' ({state}).\n"
                f"  Open:     {settings.SITE_URL}/admin/\n"
                f"  Login:    {demo.username}\n"
                f"  Password: {demo.password}\n"
            )
        )
