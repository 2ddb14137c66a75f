"""Secrets: password hashes, API tokens and browser sessions.

Passwords are hashed with argon2id (slow on purpose, checked only at login).
API tokens and session cookies are 256-bit random secrets; only their SHA-256
digest is stored, which is safe for random secrets and costs microseconds per
request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TOKEN_PREFIX = "td_"
_hasher = PasswordHasher()

# Verifying against this keeps the time of a login for an unknown user close to
# that of a known one, so response times do not reveal which emails exist.
_DUMMY_HASH = _hasher.hash("tempodesk-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_token() -> str:
    return new_secret(TOKEN_PREFIX)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
