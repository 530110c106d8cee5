"""Signing in with a limit on guessing: failures are counted per username and per client address.

Attempts live in the database (`login_attempts`), so every server process behind the proxy sees
the same counts. `login_max_failures` wrong passwords for a username within `login_window_seconds`
(since its last successful sign-in) lock that username for `login_lockout_seconds` after the last
failure; `login_max_failures_per_ip` failures from one address lock the address the same way.
While locked, attempts are refused without checking the password and are not counted.

`login` records what happened in the caller's transaction even when it raises, and the failed
attempt's own writes are rolled back to a savepoint: the caller must commit after catching the
error (the API route turns it into a problem response, the console into its login page).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from sync_server.config import Settings
from sync_server.errors import DomainError, TooManyAttempts
from sync_server.models import LoginAttempt, utcnow
from sync_server.services import audit
from sync_server.services.auth import IssuedToken
from sync_server.services.auth import login as check_login


def _locked_until(
    session: Session, settings: Settings, where: ColumnElement[bool], since: datetime, limit: int
) -> datetime | None:
    failures = session.scalars(
        select(LoginAttempt.at)
        .where(where, LoginAttempt.ok.is_(False), LoginAttempt.at >= since)
        .order_by(LoginAttempt.at.desc())
        .limit(limit)
    ).all()
    if len(failures) < limit:
        return None
    return failures[0] + timedelta(seconds=settings.login_lockout_seconds)


def retry_after(session: Session, settings: Settings, *, username: str, ip: str) -> int | None:
    """Seconds until this username and address may try again, or None if they may now."""
    now = utcnow()
    since = now - timedelta(seconds=settings.login_window_seconds)
    last_ok = session.scalar(
        select(LoginAttempt.at)
        .where(LoginAttempt.username == username, LoginAttempt.ok.is_(True))
        .order_by(LoginAttempt.at.desc())
        .limit(1)
    )
    until = [
        _locked_until(
            session,
            settings,
            LoginAttempt.username == username,
            max(since, last_ok) if last_ok else since,
            settings.login_max_failures,
        )
    ]
    if ip:
        until.append(
            _locked_until(
                session, settings, LoginAttempt.ip == ip, since, settings.login_max_failures_per_ip
            )
        )
    latest = max((u for u in until if u is not None), default=None)
    if latest is None or latest <= now:
        return None
    return max(1, math.ceil((latest - now).total_seconds()))


def login(
    *,
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    ip: str,
    device_id: str | None = None,
    device_name: str = "",
    app_version: str = "",
) -> IssuedToken:
    name = username.strip()[:64]
    ip = ip[:64]
    wait = retry_after(session, settings, username=name, ip=ip)
    if wait is not None:
        audit.record(session, audit.Action.LOGIN_LOCKED, username=name, device_id=device_id, ip=ip)
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {wait} seconds", retry_after=wait
        )
    try:
        with session.begin_nested():
            issued = check_login(
                session=session,
                settings=settings,
                username=name,
                password=password,
                device_id=device_id,
                device_name=device_name,
                app_version=app_version,
            )
    except DomainError as exc:
        if exc.code == "invalid_credentials":
            session.add(LoginAttempt(username=name, ip=ip, ok=False))
        audit.record(
            session,
            audit.Action.LOGIN_FAILED,
            username=name,
            device_id=device_id,
            ip=ip,
            code=exc.code,
        )
        raise
    # A success forgives the username's earlier failures; drop its rows older than the window.
    cutoff = utcnow() - timedelta(seconds=settings.login_window_seconds)
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.username == name, LoginAttempt.at < cutoff)
    )
    session.add(LoginAttempt(username=name, ip=ip, ok=True))
    audit.record(
        session,
        audit.Action.LOGIN,
        user=issued.user,
        device_id=issued.device.id if issued.device else None,
        ip=ip,
    )
    session.flush()
    return issued
