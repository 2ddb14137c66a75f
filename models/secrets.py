"""How secrets are kept at rest: encrypted with the desk's secret key (Fernet: AES-CBC + HMAC).

Mailbox passwords (`Mailbox.password_encrypted`) and people's Apprise URLs
(their notification preferences) are stored as Fernet tokens. The key lives
only in the environment of the API and the worker (TEMPODESK_SECRET_KEY); the
database holds tokens that are useless without it. The API encrypts what a
person enters; the worker decrypts it where it logs in or notifies.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SecretKeyError(Exception):
    """The key is missing, malformed, or not the one the password was stored with."""


def _fernet(key: str | None) -> Fernet:
    if not key:
        raise SecretKeyError(
            "TEMPODESK_SECRET_KEY is not set: set it (a Fernet key) to store passwords, "
            "or name an environment variable in password_env instead"
        )
    try:
        return Fernet(key.encode())
    except ValueError as exc:
        raise SecretKeyError(
            "TEMPODESK_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes)"
        ) from exc


def encrypt(key: str | None, password: str) -> str:
    """The Fernet token of `password` under `key`; raises SecretKeyError without a usable key."""
    return _fernet(key).encrypt(password.encode()).decode()


def decrypt(key: str | None, token: str) -> str:
    """The text `encrypt` stored; raises SecretKeyError when `key` is missing or not the one
    the token was made with."""
    try:
        return _fernet(key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretKeyError(
            "the stored password cannot be decrypted with TEMPODESK_SECRET_KEY "
            "(was the key changed?); enter the password again"
        ) from exc
