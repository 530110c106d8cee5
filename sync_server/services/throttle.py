"""Signing in with a limit on guessing: failures are counted per username and per client address.

Attempts live in the database (`login_attempts`), so every server process behind the proxy sees
the same counts. `login_max_failures` wrong passwords for a username within `login_window_seconds`
(since its last successful sign-in) lock that username for `login_lockout_seconds` after the last
failure; `login_max_failures_per_ip` failures from one address lock the address the same way.
While locked, attempts are refused without checking the password and are not counted.

Only attempts inside the window decide anything, so every recorded attempt first prunes rows older
than the window (`prune`): the table holds about one window of attempts, whatever the traffic,
including usernames and addresses that are tried once and never again.

`login` records what happened in the caller's transaction even when it raises, and the failed
attempt's own writes are rolled back to a savepoint: the caller must commit after catching the
error (the API route turns it into a problem response, the console into its login page).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from sync_server.config import Settings
from sync_server.errors import DomainError, Forbidden, TooManyAttempts
from sync_server.models import LoginAttempt, User
from sync_server.services import audit
from sync_server.services.auth import IssuedToken, check_password, issue_token


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


# A bound on one sign-in's share of the pruning: a backlog (a burst of guesses, an upgrade from a
# version that kept every row) drains over the next attempts instead of stalling one of them.
PRUNE_BATCH = 500


def prune(session: Session, settings: Settings, *, now: datetime) -> None:
    """Delete attempts older than the window: they can no longer lock anyone.

    Rows are chosen by `at` alone, on its own index, so usernames and addresses that never try
    again are pruned too; one statement in `at` order means two processes pruning at once take
    row locks in the same order and cannot deadlock on PostgreSQL.
    """
    cutoff = now - timedelta(seconds=settings.login_window_seconds)
    oldest = (
        select(LoginAttempt.id)
        .where(LoginAttempt.at < cutoff)
        .order_by(LoginAttempt.at)
        .limit(PRUNE_BATCH)
    )
    session.execute(
        delete(LoginAttempt)
        .where(LoginAttempt.id.in_(oldest.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )


def retry_after(
    session: Session, settings: Settings, *, username: str, ip: str, now: datetime
) -> int | None:
    """Seconds until this username and address may try again, or None if they may now."""
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


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt after its read phase: refused while locked, or the password's verdict."""

    username: str
    ip: str
    locked_for: int | None = None
    user_id: str | None = None
    error: DomainError | None = None


def check(
    *, session: Session, settings: Settings, username: str, password: str, ip: str, now: datetime
) -> Attempt:
    """The read phase of a sign-in: the lockout, then the password (argon2, deliberately slow).

    Only reads, so the API runs it before taking the write lock: on SQLite, sign-ins holding the
    database's one write lock through a password hash made every push wait behind them.
    """
    name, ip = username.strip()[:64], ip[:64]
    wait = retry_after(session, settings, username=name, ip=ip, now=now)
    if wait is not None:
        return Attempt(name, ip, locked_for=wait)  # no password check while locked
    try:
        user = check_password(session=session, username=name, password=password)
    except DomainError as exc:
        return Attempt(name, ip, error=exc)
    return Attempt(name, ip, user_id=user.id)


def conclude(
    *,
    session: Session,
    settings: Settings,
    attempt: Attempt,
    now: datetime,
    device_id: str | None = None,
    device_name: str = "",
    app_version: str = "",
) -> IssuedToken:
    """The write phase: record the attempt and issue the token, or raise why not.

    The lockout is looked at again here, under the write lock, so that failures racing in from
    other requests since the read phase still count.
    """
    name, ip = attempt.username, attempt.ip
    wait = attempt.locked_for or retry_after(session, settings, username=name, ip=ip, now=now)
    if wait is not None:
        audit.record(session, audit.Action.LOGIN_LOCKED, username=name, device_id=device_id, ip=ip)
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {wait} seconds", retry_after=wait
        )
    try:
        with session.begin_nested():
            if attempt.error is not None:
                raise attempt.error
            user = session.get(User, attempt.user_id)
            if user is None or not user.active:  # deactivated between the two phases
                raise Forbidden("this account has been deactivated", code="account_inactive")
            issued = issue_token(
                session=session,
                settings=settings,
                user=user,
                now=now,
                device_id=device_id,
                device_name=device_name,
                app_version=app_version,
            )
    except DomainError as exc:
        if exc.code == "invalid_credentials":
            prune(session, settings, now=now)
            session.add(LoginAttempt(username=name, ip=ip, ok=False, at=now))
        audit.record(
            session,
            audit.Action.LOGIN_FAILED,
            username=name,
            device_id=device_id,
            ip=ip,
            code=exc.code,
        )
        raise
    # The success row forgives the username's earlier failures (retry_after counts from it).
    prune(session, settings, now=now)
    session.add(LoginAttempt(username=name, ip=ip, ok=True, at=now))
    audit.record(
        session,
        audit.Action.LOGIN,
        user=issued.user,
        device_id=issued.device.id if issued.device else None,
        ip=ip,
    )
    session.flush()
    return issued


def login(
    *,
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    ip: str,
    now: datetime,
    device_id: str | None = None,
    device_name: str = "",
    app_version: str = "",
) -> IssuedToken:
    """Both phases in the caller's one (writing) transaction."""
    attempt = check(
        session=session, settings=settings, username=username, password=password, ip=ip, now=now
    )
    return conclude(
        session=session,
        settings=settings,
        attempt=attempt,
        now=now,
        device_id=device_id,
        device_name=device_name,
        app_version=app_version,
    )
