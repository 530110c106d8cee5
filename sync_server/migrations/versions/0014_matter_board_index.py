"""matters: a covering index for the console's board, overdue list and counts (issue 20, bench)

It replaces ix_matters_grid_state (its prefix) and ix_matters_state_due, which SQLite's planner
preferred for a grid's overdue list, reading every overdue matter of the district to keep a
grid's few. Measured in bench/matter_bench.py.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-07 22:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in models.BOARD_INDEX_COLUMNS at this revision (a migration never imports the models).
COLUMNS = [
    "grid_id",
    "state",
    "deleted",
    "due_at",
    "reported_at",
    "id",
    "category_id",
    "source",
    "closed_at",
    "rating",
]


def upgrade() -> None:
    op.create_index("ix_matters_board", "matters", COLUMNS, unique=False)
    op.drop_index("ix_matters_grid_state", table_name="matters")
    op.drop_index("ix_matters_state_due", table_name="matters")


def downgrade() -> None:
    op.create_index("ix_matters_state_due", "matters", ["state", "due_at"], unique=False)
    op.create_index("ix_matters_grid_state", "matters", ["grid_id", "state"], unique=False)
    op.drop_index("ix_matters_board", table_name="matters")
