"""Server settings: one pydantic-settings class read from the environment (prefix GRIDSWEEP_).

Outside development the server refuses to start with the default, a short, a repeated or a
low-entropy secret, so a deployment can never run on a key that is printed in this repository
or that a guesser would try first.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import Clock, parse_offset

DEFAULT_SECRET = "dev-insecure-secret-change-me"
DEFAULT_DATABASE_URL = "sqlite:///./data/gridsweep.db"


class SettingsError(ValueError):
    """A setting that makes the server unsafe or unable to start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDSWEEP_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "GRIDSWEEP_DATABASE_URL"),
    )
    secret_key: str = DEFAULT_SECRET
    token_ttl_hours: int = Field(default=24 * 14, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # The port `gridsweep demo` serves the field app on (the app itself reads the same
    # variable, field_app/config.py); 0 starts no app.
    app_port: int = Field(default=8550, ge=0, le=65535)
    sql_echo: bool = False
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Platform completion files (POST /campaigns/{id}/completions) are far larger than a sync.
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    # Sign-in throttling (services.throttle): this many failures within the window lock the
    # username (or, at the higher per-IP count, the client address) for the lockout.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    login_lockout_seconds: int = Field(default=300, ge=1)
    # A closed matter rated 4-5 within this many days earns its handler the category's bonus
    # points; one not rated in time keeps the base only (shared.matters.credits_for).
    matter_rating_window_days: int = Field(default=7, ge=1)
    # The server's clock runs this far ahead of the system's (GRIDSWEEP_CLOCK_OFFSET: seconds or
    # an ISO-8601 duration such as P30D). Tests hand it to servers they start as subprocesses.
    clock_offset: timedelta = timedelta(0)
    # Addresses of the reverse proxies whose X-Forwarded-For / -Proto the server believes
    # (comma-separated IPs or networks, docs/deploy.md). Empty: none, the client address is the
    # socket's, so no client can name its own address to escape the per-address sign-in limit.
    trusted_proxies: str = ""
    # The OpenAPI document and its docs page: on in development, off in production unless this
    # turns them on (they map every route for whoever asks).
    api_docs: bool | None = None

    @field_validator("clock_offset", mode="before")
    @classmethod
    def _parse_offset(cls, value: object) -> object:
        return parse_offset(value) if isinstance(value, str) else value

    def clock(self) -> Clock:
        """The clock every rule of this server reads "now" and "today" from."""
        return Clock(self.clock_offset)

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.env == "development":
            return self
        weak = weak_secret(self.secret_key)
        if weak is not None:
            raise SettingsError(
                f"GRIDSWEEP_SECRET_KEY {weak}; it must be a random value of at least 32 "
                f"characters when GRIDSWEEP_ENV={self.env}: generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != "production"

    @property
    def proxies(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the driver SQLAlchemy should use (psycopg 3 for PostgreSQL)."""
        url = self.database_url
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        url = self.sqlalchemy_url
        if not url.startswith("sqlite:///") or url.endswith(":memory:"):
            return None
        return Path(url[len("sqlite:///") :])


MIN_SECRET_CHARS = 32
MIN_SECRET_BITS = 100


def weak_secret(secret: str) -> str | None:
    """Why `secret` is too weak to sign tokens and cursors with, or None if it is not.

    Short, the repository's default, a repeated pattern (32 spaces, `abab…`) or too little
    variety: estimated from its own character frequencies (Shannon), fewer than 100 bits (a 32-character hex secret just passes).
    """
    if secret == DEFAULT_SECRET:
        return "is the default printed in this repository"
    if len(secret) < MIN_SECRET_CHARS:
        return f"has {len(secret)} characters"
    if not secret.strip():
        return "is only whitespace"
    for size in range(1, len(secret) // 2 + 1):
        if len(secret) % size == 0 and secret == secret[:size] * (len(secret) // size):
            return f"repeats {secret[:size]!r}"
    counts = Counter(secret)
    per_char = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    if per_char * len(secret) < MIN_SECRET_BITS:
        return f"holds about {per_char * len(secret):.0f} bits of randomness, under 100"
    return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
