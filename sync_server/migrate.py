"""Run the Alembic migrations from code (the CLI, the tests and `make demo` use this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from sync_server.config import Settings


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "sync_server:migrations")
    cfg.set_main_option("sqlalchemy.url", settings.sqlalchemy_url)
    return cfg


def upgrade(settings: Settings, engine: Engine, revision: str = "head") -> None:
    """Bring the database at `engine` up to `revision`."""
    cfg = alembic_config(settings)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(settings: Settings, engine: Engine, revision: str) -> None:
    cfg = alembic_config(settings)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
