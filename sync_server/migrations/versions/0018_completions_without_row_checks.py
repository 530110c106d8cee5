"""completions without per-row foreign-key checks (issue 25, completion import near COPY speed)

The completion import writes millions of rows in one INSERT ... SELECT that joins residents
itself, into a campaign and a batch it has just checked or created. The three foreign keys only
repeated, row by row, what that join already guarantees, and cost more than the insert (a key
check each, and a row lock on the resident). Residents and campaigns are never deleted, only
marked deleted, so nothing can leave a completion dangling.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 22:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = (
    ("fk_completions_batch_id_completion_batches", "batch_id", "completion_batches"),
    ("fk_completions_campaign_id_campaigns", "campaign_id", "campaigns"),
    ("fk_completions_resident_id_residents", "resident_id", "residents"),
)


def upgrade() -> None:
    with op.batch_alter_table("completions", schema=None) as batch_op:
        for name, _, _ in _KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("completions", schema=None) as batch_op:
        for name, column, table in _KEYS:
            batch_op.create_foreign_key(name, table, [column], ["id"])
