"""business matters: a matter a business check's failed item opened names the business, the
checklist item and the check; one open matter per business and item (issue 21)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN_CHECK_MATTER = "business_id IS NOT NULL AND state NOT IN ('closed', 'declined')"


def upgrade() -> None:
    with op.batch_alter_table("matters") as batch:
        batch.add_column(sa.Column("business_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("checklist_item_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("business_check_id", sa.String(length=36), nullable=True))
    op.create_index("ix_matters_business_state", "matters", ["business_id", "state"])
    op.create_index("ix_matters_business_check", "matters", ["business_check_id"])
    op.create_index(
        "uq_matters_open_check_item",
        "matters",
        ["business_id", "checklist_item_id"],
        unique=True,
        sqlite_where=sa.text(_OPEN_CHECK_MATTER),
        postgresql_where=sa.text(_OPEN_CHECK_MATTER),
    )


def downgrade() -> None:
    op.drop_index("uq_matters_open_check_item", table_name="matters")
    op.drop_index("ix_matters_business_check", table_name="matters")
    op.drop_index("ix_matters_business_state", table_name="matters")
    with op.batch_alter_table("matters") as batch:
        batch.drop_column("business_check_id")
        batch.drop_column("checklist_item_id")
        batch.drop_column("business_id")
