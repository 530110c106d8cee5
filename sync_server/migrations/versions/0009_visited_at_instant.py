"""visits.visited_at: an instant stored in UTC like every other time (it was the phone's text)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:00:00

Phones wrote `visited_at` as China time with its offset (`2026-11-28T10:15+08:00`); the column
becomes DateTime(timezone=True) holding the same instant in UTC. A zone-less text is China time,
as the protocol reads one. The old column took any text of up to 40 characters, so a text that is
no time at all takes the moment the server stored the visit (`updated_at`): no visit is lost,
and none is left with a value the new column cannot hold. The conversion is spelled out here, not
imported from `shared`, so this migration keeps its meaning however the code changes later.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHINA = timezone(timedelta(hours=8))
_PAGE = 2000
_INDEX = "ix_visits_house_visited"


def _utc(moment: datetime) -> datetime:
    # SQLite hands DateTime columns back without a zone; what the server wrote there is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _instant(text: str | None, stored_at: datetime) -> datetime:
    try:
        moment = datetime.fromisoformat((text or "").strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_CHINA)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return _utc(stored_at)


def _pages(source: sa.Column[Any], *columns: sa.Column[Any]) -> Iterator[list[sa.Row[Any]]]:
    """The visits' rows, a page at a time in id order (a district holds hundreds of thousands)."""
    table, after = source.table, ""
    while True:
        rows = (
            op.get_bind()
            .execute(
                sa.select(table.c.id, source, *columns)
                .where(table.c.id > after)
                .order_by(table.c.id)
                .limit(_PAGE)
            )
            .all()
        )
        if not rows:
            return
        yield list(rows)
        after = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visited_utc", sa.DateTime(timezone=True), nullable=True))
    visits = sa.table(
        "visits",
        sa.column("id", sa.String()),
        sa.column("visited_at", sa.String(40)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("visited_utc", sa.DateTime(timezone=True)),
    )
    write = (
        sa.update(visits)
        .where(visits.c.id == sa.bindparam("b_id"))
        .values(visited_utc=sa.bindparam("b_at", type_=sa.DateTime(timezone=True)))
    )
    for page in _pages(visits.c.visited_at, visits.c.updated_at):
        op.get_bind().execute(
            write, [{"b_id": id_, "b_at": _instant(text, at)} for id_, text, at in page]
        )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index(_INDEX)
        batch_op.drop_column("visited_at")
        batch_op.alter_column(
            "visited_utc",
            new_column_name="visited_at",
            existing_type=sa.DateTime(timezone=True),
            nullable=False,
        )
    # Apart from the rename: a batch on SQLite still knows the renamed column by its old name.
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(_INDEX, ["house_id", "visited_at"], unique=False)


def downgrade() -> None:
    # Back to the text old phones wrote: China time to the minute, with its offset.
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visited_text", sa.String(length=40), nullable=True))
    visits = sa.table(
        "visits",
        sa.column("id", sa.String()),
        sa.column("visited_at", sa.DateTime(timezone=True)),
        sa.column("visited_text", sa.String(40)),
    )
    write = (
        sa.update(visits)
        .where(visits.c.id == sa.bindparam("b_id"))
        .values(visited_text=sa.bindparam("b_text"))
    )
    for page in _pages(visits.c.visited_at):
        op.get_bind().execute(
            write,
            [
                {"b_id": id_, "b_text": _utc(at).astimezone(_CHINA).isoformat(timespec="minutes")}
                for id_, at in page
            ],
        )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index(_INDEX)
        batch_op.drop_column("visited_at")
        batch_op.alter_column(
            "visited_text",
            new_column_name="visited_at",
            existing_type=sa.String(length=40),
            nullable=False,
        )
    # Apart from the rename: a batch on SQLite still knows the renamed column by its old name.
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(_INDEX, ["house_id", "visited_at"], unique=False)
