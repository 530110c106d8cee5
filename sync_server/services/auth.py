"""Logging in, issuing and checking bearer tokens, and registering the caller's device."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync_server.config import Settings
from sync_server.errors import Forbidden, NotAuthenticated
from sync_server.models import AuthToken, Device, User
from sync_server.security import new_token, token_digest, verify_password


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User
    device: Device | None


def check_password(*, session: Session, username: str, password: str) -> User:
    """The user whose password this is. Slow on purpose (argon2), and only reads: callers run it
    outside any write lock."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    # Same message, and the same argon2 work, for an unknown user and a wrong password: neither
    # the answer nor its time reveals which usernames exist.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise NotAuthenticated("username or password is wrong", code="invalid_credentials")
    if not user.active:
        raise Forbidden("this account has been deactivated", code="account_inactive")
    return user


def issue_token(
    *,
    session: Session,
    settings: Settings,
    user: User,
    now: datetime,
    device_id: str | None = None,
    device_name: str = "",
    app_version: str = "",
) -> IssuedToken:
    """A token for a user whose password was checked; a device id binds it to that device."""
    device = None
    if device_id:
        device = session.get(Device, device_id)
        if device is None:
            device = Device(
                id=device_id,
                user_id=user.id,
                name=device_name,
                app_version=app_version,
                created_at=now,
            )
            session.add(device)
            session.flush()  # the token row below references it
        # Revoked first: a revoked phone stays revoked for whoever signs in on it.
        elif device.revoked_at is not None:
            raise Forbidden("this device has been revoked", code="device_revoked")
        elif device.user_id != user.id:
            raise Forbidden("this device is registered to another user", code="device_owner")
        device.last_seen_at = now
        if app_version:
            device.app_version = app_version
    token = new_token()
    expires_at = now + timedelta(hours=settings.token_ttl_hours)
    session.add(
        AuthToken(
            token_hash=token_digest(settings.secret_key, token),
            user_id=user.id,
            device_id=device.id if device else None,
            expires_at=expires_at,
            created_at=now,
        )
    )
    session.flush()
    return IssuedToken(token=token, expires_at=expires_at, user=user, device=device)


@dataclass(frozen=True)
class Caller:
    """Who is making a request: the user and, for the field app, the device."""

    user: User
    device: Device | None


def authenticate(*, session: Session, settings: Settings, token: str, now: datetime) -> Caller:
    row = session.get(AuthToken, token_digest(settings.secret_key, token))
    if row is not None and row.device_id:
        # Checked before the token: revoking a device also revokes its tokens, and the app must
        # learn that the device itself was revoked (it then wipes its local data).
        owner = session.get(Device, row.device_id)
        if owner is not None and owner.revoked_at is not None:
            raise Forbidden("this device has been revoked", code="device_revoked")
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("the sign-in token is not valid; sign in again")
    if row.expires_at <= now:
        raise NotAuthenticated("the sign-in has expired; sign in again", code="token_expired")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("this account has been deactivated", code="account_inactive")
    device = session.get(Device, row.device_id) if row.device_id else None
    return Caller(user=user, device=device)


def logout(*, session: Session, settings: Settings, token: str, now: datetime) -> None:
    row = session.get(AuthToken, token_digest(settings.secret_key, token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
