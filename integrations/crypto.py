"""Encryption of secrets at rest (OAuth tokens), with MultiFernet under
settings.FIELD_ENCRYPTION_KEYS (newest key first).

Encrypting always uses the newest key; decrypting tries every key, so a key can be added
in front, `manage.py rotate_encryption_keys` run, and the old key removed afterwards.
https://cryptography.io/en/latest/fernet/#cryptography.fernet.MultiFernet
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "secret_decrypt", "secret_encrypt", "secret_rotate"]


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid key: {exc}") from None


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def secret_encrypt(value: str) -> str:
    """The ciphertext of `value` under the newest key; "" stays "" (no secret)."""
    if not value:
        return ""
    return _current().encrypt(value.encode()).decode("ascii")


def secret_decrypt(ciphertext: str) -> str:
    """The clear text of `ciphertext`; "" stays "". Raises InvalidToken when no configured
    key decrypts it (a key was removed before rotating)."""
    if not ciphertext:
        return ""
    return _current().decrypt(ciphertext.encode("ascii")).decode()


def secret_rotate(ciphertext: str) -> str:
    """`ciphertext` re-encrypted under the newest key (MultiFernet.rotate)."""
    if not ciphertext:
        return ""
    return _current().rotate(ciphertext.encode("ascii")).decode("ascii")
