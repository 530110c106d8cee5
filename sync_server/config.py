"""Server settings: one pydantic-settings class read from the environment (prefix GRIDSWEEP_).

Outside development the server refuses to start with the default or a short secret, so a
deployment can never run on a key that is printed in this repository.
"""

from __future__ import annotations

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
    port: int = 8000
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
    # The server's clock runs this far ahead of the system's (GRIDSWEEP_CLOCK_OFFSET: seconds or
    # an ISO-8601 duration such as P30D). Tests hand it to servers they start as subprocesses.
    clock_offset: timedelta = timedelta(0)

    @field_validator("clock_offset", mode="before")
    @classmethod
    def _parse_offset(cls, value: object) -> object:
        return parse_offset(value) if isinstance(value, str) else value

    def clock(self) -> Clock:
        """The clock every rule of this server reads "now" and "today" from."""
        return Clock(self.clock_offset)

    @model_validator(mode="after")
    def _refuse_unsafe_secret(self) -> Settings:
        if self.env != "development" and (
            self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        ):
            raise SettingsError(
                f"GRIDSWEEP_SECRET_KEY must be set to a random value of at least 32 characters "
                f"when GRIDSWEEP_ENV={self.env}; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
