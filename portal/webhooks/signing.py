"""Signatures by the Standard Webhooks specification (https://www.standardwebhooks.com),
and the signing secrets kept encrypted at rest.

A delivery carries ``webhook-id`` (the same on every attempt), ``webhook-timestamp`` (the
attempt's Unix time) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` of
``{id}.{timestamp}.{body}`` under each valid secret, space-separated (two during the day
after a rotation). Secrets look like ``whsec_<base64 of 32 random bytes>``, the form the
specification's libraries take.

The database holds secrets sealed with a key derived from ``SECRET_KEY`` (Fernet: AES and
an HMAC), so a database dump alone does not let anyone forge deliveries. Changing
``SECRET_KEY`` therefore needs every endpoint's secret rotated.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"incident-portal webhook secrets").derive(
        current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    return _fernet().decrypt(sealed.encode()).decode()


def signature(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """One ``v1,<base64>`` signature of ``body`` under ``secret``."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode()


def headers(secrets_: list[str], webhook_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers, signed under every secret given."""
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signature(secret, webhook_id, timestamp, body)
                                          for secret in secrets_)}
