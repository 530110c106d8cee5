"""businesses (商户), business types (six seeded), checklist items, business checks, and a
campaign's business types (issue 21)

The seeded types are written out here, not imported: a migration stays what it was when it first
ran. Their ids derive from their codes (uuid5), as `shared.businesses.default_type_id` does.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 22:30:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (code, name, English name): shared.businesses.DEFAULT_BUSINESS_TYPES then.
TYPES = (
    ("catering", "餐饮", "Catering"),
    ("lodging", "住宿", "Lodging"),
    ("retail", "商超", "Shops and supermarkets"),
    ("beauty", "理发美容", "Hair and beauty"),
    ("repair", "维修", "Repairs"),
    ("other", "其他", "Other"),
)
TYPE_NAMESPACE = uuid.UUID("0b5e3a8c-2f41-4d7a-9c1e-6a2d8f3b5c70")


def _synced(table: str) -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("updated_by_device_id", sa.String(length=36), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("clocks", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "business_types",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        *_synced("business_types"),
        sa.UniqueConstraint("code", name=op.f("uq_business_types_code")),
    )
    op.create_table(
        "checklist_items",
        sa.Column("business_type_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("text_en", sa.String(length=300), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        *_synced("checklist_items"),
        sa.ForeignKeyConstraint(
            ["business_type_id"],
            ["business_types.id"],
            name=op.f("fk_checklist_items_business_type_id_business_types"),
        ),
        sa.UniqueConstraint(
            "business_type_id", "code", name=op.f("uq_checklist_items_business_type_id")
        ),
    )
    op.create_index(
        op.f("ix_checklist_items_business_type_id"),
        "checklist_items",
        ["business_type_id"],
        unique=False,
    )
    op.create_table(
        "businesses",
        sa.Column("grid_id", sa.String(length=36), nullable=False),
        sa.Column("building_id", sa.String(length=36), nullable=True),
        sa.Column("business_type_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("licence_number", sa.String(length=18), nullable=True),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        *_synced("businesses"),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grid_nodes.id"], name=op.f("fk_businesses_grid_id_grid_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"], ["buildings.id"], name=op.f("fk_businesses_building_id_buildings")
        ),
        sa.ForeignKeyConstraint(
            ["business_type_id"],
            ["business_types.id"],
            name=op.f("fk_businesses_business_type_id_business_types"),
        ),
    )
    op.create_index("ix_businesses_grid_status", "businesses", ["grid_id", "status"])
    op.create_index(op.f("ix_businesses_building_id"), "businesses", ["building_id"])
    op.create_index(op.f("ix_businesses_business_type_id"), "businesses", ["business_type_id"])
    op.create_index(op.f("ix_businesses_licence_number"), "businesses", ["licence_number"])
    op.create_table(
        "business_checks",
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("business_id", sa.String(length=36), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        *_synced("business_checks"),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_business_checks_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_business_checks_business_id_businesses"),
        ),
    )
    op.create_index(
        "ix_business_checks_campaign_business",
        "business_checks",
        ["campaign_id", "business_id"],
    )
    op.create_index(op.f("ix_business_checks_business_id"), "business_checks", ["business_id"])
    op.add_column(
        "campaigns",
        sa.Column("business_types", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    )
    types = sa.table(
        "business_types",
        sa.column("id", sa.String),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("name_en", sa.String),
        sa.column("sort_order", sa.Integer),
        sa.column("active", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("deleted", sa.Boolean),
        sa.column("clocks", sa.JSON),
    )
    op.bulk_insert(
        types,
        [
            {
                "id": str(uuid.uuid5(TYPE_NAMESPACE, code)),
                "code": code,
                "name": name,
                "name_en": name_en,
                "sort_order": (index + 1) * 10,
                "active": 1,
                "version": 1,
                "updated_at": datetime(2026, 12, 1, tzinfo=UTC),
                "deleted": False,
                "clocks": {},
            }
            for index, (code, name, name_en) in enumerate(TYPES)
        ],
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM changes WHERE entity IN "
        "('business_type', 'checklist_item', 'business', 'business_check')"
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("business_types")
    op.drop_index(op.f("ix_business_checks_business_id"), table_name="business_checks")
    op.drop_index("ix_business_checks_campaign_business", table_name="business_checks")
    op.drop_table("business_checks")
    op.drop_index(op.f("ix_businesses_licence_number"), table_name="businesses")
    op.drop_index(op.f("ix_businesses_business_type_id"), table_name="businesses")
    op.drop_index(op.f("ix_businesses_building_id"), table_name="businesses")
    op.drop_index("ix_businesses_grid_status", table_name="businesses")
    op.drop_table("businesses")
    op.drop_index(op.f("ix_checklist_items_business_type_id"), table_name="checklist_items")
    op.drop_table("checklist_items")
    op.drop_table("business_types")
