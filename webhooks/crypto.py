"""Webhook secrets: generated here, stored encrypted with Fernet (`FERNET_KEY`), shown only once.

`FERNET_KEY` may list several comma-separated keys to rotate the key: the first encrypts, all decrypt.
"""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in str(settings.FERNET_KEY).split(",") if key.strip()]
    return MultiFernet([Fernet(key) for key in keys])


def secret_generate() -> str:
    return "whsec_" + secrets.token_hex(32)


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
