"""Password hashing (argon2id) and bearer-token generation and hashing."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from. None (no such user) is
    checked against a hash of a random password with the same parameters, which never matches:
    an unknown username costs the same argon2 work as a wrong password, so the time a sign-in
    takes does not tell which usernames exist."""
    try:
        return _hasher.verify(password_hash or _unknown_user_hash(), password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _unknown_user_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(32))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(secret_key: str, token: str) -> str:
    """Keyed hash of a bearer token; only this is stored."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
