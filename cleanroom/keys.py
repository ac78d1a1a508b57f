"""Per-tenant keys derived from CLEANROOM_VAULT_KEY: one keys the pseudonym hashes, one encrypts the vault.

Deriving rather than storing per-tenant keys keeps them out of the database: whoever copies the tables without the
key sees tokens, hashes and ciphertext only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _master_key() -> bytes:
    key = settings.CLEANROOM_VAULT_KEY
    if not isinstance(key, str):  # a MissingKey: bootstrap() has not generated the key file yet
        raise ImproperlyConfigured(
            f"{key!r}: the process must call cleanroom.bootstrap.bootstrap() before using CLEANROOM_VAULT_KEY "
            "(manage.py, wsgi.py and the Celery worker do)."
        )
    return key.encode()


def _derive(purpose: str, tenant_id: int) -> bytes:
    master = _master_key()
    return hmac.new(master, f"cleanroom:{purpose}:{tenant_id}".encode(), hashlib.sha256).digest()


def tenant_hash_key(tenant_id: int) -> bytes:
    return _derive("pseudonym-hash", tenant_id)


def tenant_cipher(tenant_id: int):  # noqa: ANN201 - cryptography.fernet.Fernet
    from cryptography.fernet import Fernet

    return Fernet(base64.urlsafe_b64encode(_derive("vault-encryption", tenant_id)))
