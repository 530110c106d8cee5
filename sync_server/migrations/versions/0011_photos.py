"""photos: uploaded photos by sha256, their upload progress and uploader (issue 20, photos)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("complete", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("uploader_user_id", sa.String(length=36), nullable=False),
        sa.Column("uploader_device_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["uploader_device_id"], ["devices.id"], name=op.f("fk_photos_uploader_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["uploader_user_id"], ["users.id"], name=op.f("fk_photos_uploader_user_id_users")
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_photos")),
    )
    op.create_index("ix_photos_uploader_device_id", "photos", ["uploader_device_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_photos_uploader_device_id", table_name="photos")
    op.drop_table("photos")
