"""Fixtures for device-and-server tests: the real app on a per-test database, phones on demand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import MovableClock
from shared.schema import Role
from sync_server.services.users import create_user
from tests.factories import TinyGrid, make_tiny_grid, password_hash
from tests.integration.harness import Phone


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        grid = make_tiny_grid(session)
        create_user(
            session=session,
            username="w11b",
            password_hash=password_hash(),
            role=Role.WORKER,
            grids=[grid.nodes["T1-1-1-1-1"]],
        )
        return grid


@pytest.fixture
def phone(
    app: FastAPI, tmp_path: Path, tiny: TinyGrid, clock: MovableClock
) -> Iterator[Callable[[str], Phone]]:
    """Phones on the server's clock: a test that moves it on moves the phones' day too."""
    made: list[Phone] = []

    def make(username: str) -> Phone:
        p = Phone(app, tmp_path / f"{username}-{len(made)}.db", username, clock)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()
