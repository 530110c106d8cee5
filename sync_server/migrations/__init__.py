"""Alembic migrations of the server database (run with `gridsweep db upgrade`)."""
