from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.crypto import secret_rotate
from integrations.models import SalesforceConnection

ENCRYPTED_FIELDS = ("access_token_encrypted", "refresh_token_encrypted")


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the newest key of FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, run this, then remove the old key."
    )

    def handle(self, *args, **options) -> None:
        rotated = 0
        with transaction.atomic():
            rows = SalesforceConnection.objects.select_for_update(no_key=True).only(
                "pk", *ENCRYPTED_FIELDS
            )
            for connection in rows:
                for field in ENCRYPTED_FIELDS:
                    setattr(connection, field, secret_rotate(getattr(connection, field)))
                connection.save(update_fields=list(ENCRYPTED_FIELDS))
                rotated += 1
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted the tokens of {rotated} connection(s).")
        )
