"""The device's small persistent facts: who and where it is, and how far it has synced.

A key → JSON value table. Writes join the caller's open transaction (so the pull cursor is saved
with the page it follows, and the HLC with the operation it stamped) or commit on their own.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

DEVICE_ID = "device_id"
USER_ID = "user_id"
USER = "user"
SERVER_URL = "server_url"
TOKEN = "token"
TOKEN_EXPIRES_AT = "token_expires_at"
CURSOR = "cursor"
HLC = "hlc"
SCOPE = "scope"
LAST_SYNC_AT = "last_sync_at"


class Meta:
    """Typed access to the `meta` table of one store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return default if row is None else json.loads(row[0])

    def set(self, key: str, value: Any) -> None:
        if value is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", [key])
            return
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, json.dumps(value, ensure_ascii=False)],
        )

    def setdefault(self, key: str, value: Any) -> Any:
        """Store `value` unless `key` is set already; the value that holds afterwards."""
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
            [key, json.dumps(value, ensure_ascii=False)],
        )
        return self.get(key)

    def _str(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else str(value)

    @property
    def device_id(self) -> str | None:
        return self._str(DEVICE_ID)

    @property
    def user_id(self) -> str | None:
        return self._str(USER_ID)

    @user_id.setter
    def user_id(self, value: str | None) -> None:
        self.set(USER_ID, value)

    @property
    def user(self) -> dict[str, Any] | None:
        """The signed-in user as the server described them (name, role, grids)."""
        value = self.get(USER)
        return value if isinstance(value, dict) else None

    @user.setter
    def user(self, value: dict[str, Any] | None) -> None:
        self.set(USER, value)

    @property
    def server_url(self) -> str | None:
        return self._str(SERVER_URL)

    @server_url.setter
    def server_url(self, value: str | None) -> None:
        self.set(SERVER_URL, value)

    @property
    def token(self) -> str | None:
        return self._str(TOKEN)

    @token.setter
    def token(self, value: str | None) -> None:
        self.set(TOKEN, value)

    @property
    def token_expires_at(self) -> datetime | None:
        value = self._str(TOKEN_EXPIRES_AT)
        return None if value is None else datetime.fromisoformat(value)

    @token_expires_at.setter
    def token_expires_at(self, value: datetime | None) -> None:
        self.set(TOKEN_EXPIRES_AT, None if value is None else value.isoformat())

    @property
    def cursor(self) -> str | None:
        """Where the next pull continues; None before the first pull."""
        return self._str(CURSOR)

    @cursor.setter
    def cursor(self, value: str | None) -> None:
        self.set(CURSOR, value)

    @property
    def hlc(self) -> str | None:
        """The last HLC timestamp this device issued or observed."""
        return self._str(HLC)

    @hlc.setter
    def hlc(self, value: str | None) -> None:
        self.set(HLC, value)

    @property
    def scope(self) -> list[str]:
        """Level-5 grid ids this device may hold, as the last pull said."""
        value = self.get(SCOPE, [])
        return [str(v) for v in value] if isinstance(value, list) else []

    @scope.setter
    def scope(self, value: list[str]) -> None:
        self.set(SCOPE, list(value))

    @property
    def last_sync_at(self) -> datetime | None:
        value = self._str(LAST_SYNC_AT)
        return None if value is None else datetime.fromisoformat(value)

    @last_sync_at.setter
    def last_sync_at(self, value: datetime | None) -> None:
        self.set(LAST_SYNC_AT, None if value is None else value.isoformat())
