"""Tokens at rest: never in clear in the database; key rotation re-encrypts them."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection as db

from integrations.models import SalesforceConnection
from tests.factories import SalesforceConnectionFactory

pytestmark = pytest.mark.django_db
ACCESS = "00D000000000001!AQ-access-token-in-clear"
REFRESH = "5Aep861-refresh-token-in-clear"


def raw_row(pk: int) -> dict:
    """The row as a database dump would show it."""
    table = SalesforceConnection._meta.db_table
    with db.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        names = [column.name for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def test_tokens_are_not_stored_in_clear(tenant_a):
    connection = SalesforceConnectionFactory(
        tenant=tenant_a, access_token=ACCESS, refresh_token=REFRESH
    )

    row = raw_row(connection.pk)

    dump = repr(row)
    assert ACCESS not in dump and REFRESH not in dump
    assert "AQ-access" not in dump and "5Aep861" not in dump
    assert row["access_token_encrypted"].startswith("gAAAA")  # a Fernet token
    fresh = SalesforceConnection.objects.get(pk=connection.pk)
    assert (fresh.access_token, fresh.refresh_token) == (ACCESS, REFRESH)


def test_rotate_encryption_keys_reencrypts_with_the_newest_key(settings, tenant_a, tenant_b):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    first = SalesforceConnectionFactory(tenant=tenant_a, access_token=ACCESS, refresh_token=REFRESH)
    second = SalesforceConnectionFactory(tenant=tenant_b, access_token="", refresh_token=REFRESH)
    before = raw_row(first.pk)

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone

    after = raw_row(first.pk)
    assert after["refresh_token_encrypted"] != before["refresh_token_encrypted"]
    Fernet(new).decrypt(after["refresh_token_encrypted"].encode())
    fresh = SalesforceConnection.objects.get(pk=first.pk)
    assert (fresh.access_token, fresh.refresh_token) == (ACCESS, REFRESH)
    other = SalesforceConnection.objects.get(pk=second.pk)
    assert (other.access_token, other.refresh_token) == ("", REFRESH)
    assert REFRESH not in repr(after)


def test_a_removed_key_without_rotation_cannot_decrypt(settings, tenant_a):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    connection = SalesforceConnectionFactory(tenant=tenant_a, refresh_token=REFRESH)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(InvalidToken):
        _ = SalesforceConnection.objects.get(pk=connection.pk).refresh_token
