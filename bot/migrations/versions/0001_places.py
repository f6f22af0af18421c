"""Free-place store: organisations, locations, availability, unmet needs.

Revision ID: 0001_places
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_places"
down_revision = None
branch_labels = None
depends_on = None

CARE_TYPES = (
    "gezinsopvang",
    "groepsopvang",
    "occasionele_opvang",
    "flexibele_opvang",
    "dringende_opvang",
    "inclusieve_opvang",
    "buitenschoolse_opvang",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "places_organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("email", sa.String(200)),
        sa.Column("fictional", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_places_organisations"),
        sa.UniqueConstraint("name", name="uq_places_organisations_name"),
    )
    op.create_table(
        "places_locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.Integer()),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("care_type", sa.String(32), nullable=False),
        sa.Column("pricing", sa.String(16), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("postcode", sa.String(4), nullable=False),
        sa.Column("municipality", sa.String(80), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("email", sa.String(200)),
        *[sa.Column(f"hours_{day}", sa.String(11)) for day in
          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")],
        sa.Column("opens_early", sa.Boolean(), nullable=False),
        sa.Column("closes_late", sa.Boolean(), nullable=False),
        sa.Column("weekend", sa.Boolean(), nullable=False),
        sa.Column("night", sa.Boolean(), nullable=False),
        sa.Column("languages", sa.String(64), nullable=False),
        sa.Column("inclusive", sa.Boolean(), nullable=False),
        sa.Column("min_age_months", sa.SmallInteger(), nullable=False),
        sa.Column("max_age_months", sa.SmallInteger(), nullable=False),
        sa.Column("capacity", sa.SmallInteger(), nullable=False),
        sa.Column("fictional", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(_in("care_type", CARE_TYPES), name="ck_places_locations_care_type"),
        sa.CheckConstraint(
            _in("pricing", ("income_related", "free_price")), name="ck_places_locations_pricing"
        ),
        sa.CheckConstraint(
            "min_age_months >= 0 AND max_age_months >= min_age_months",
            name="ck_places_locations_ages",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["places_organisations.id"],
            name="fk_places_locations_organisation_id_places_organisations",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_places_locations"),
        sa.UniqueConstraint("ref", name="uq_places_locations_ref"),
    )
    op.create_index(
        "ix_places_locations_municipality", "places_locations", ["municipality", "care_type"]
    )
    op.create_index("ix_places_locations_postcode", "places_locations", ["postcode"])
    op.create_index(
        "ix_places_locations_organisation_id", "places_locations", ["organisation_id"]
    )
    op.create_table(
        "places_availability",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date()),
        sa.Column("weekdays", sa.SmallInteger(), nullable=False),
        sa.Column("days_count", sa.SmallInteger(), nullable=False),
        sa.Column("places", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(80)),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            _in("kind", ("regular", "occasional", "urgent")), name="ck_places_availability_kind"
        ),
        sa.CheckConstraint("places >= 0", name="ck_places_availability_places"),
        sa.CheckConstraint(
            "weekdays > 0 AND weekdays < 128", name="ck_places_availability_weekdays"
        ),
        sa.CheckConstraint(
            "date_to IS NULL OR date_to >= date_from", name="ck_places_availability_dates"
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["places_locations.id"],
            name="fk_places_availability_location_id_places_locations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_places_availability"),
    )
    op.create_index(
        "ix_places_availability_search",
        "places_availability",
        ["location_id", "kind", "date_from", "date_to", "places", "days_count", "id"],
    )
    op.create_table(
        "places_unmet_needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("care_type", sa.String(32)),
        sa.Column("occasional", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("income_related", sa.Boolean()),
        sa.Column("postcode", sa.String(4)),
        sa.Column("municipality", sa.String(80)),
        sa.Column("wanted_from", sa.Date()),
        sa.Column("days_per_week", sa.SmallInteger()),
        sa.Column("child_age_months", sa.SmallInteger()),
        sa.Column("results", sa.SmallInteger(), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_places_unmet_needs"),
    )
    op.create_index("ix_places_unmet_needs_created", "places_unmet_needs", ["created_at"])
    op.create_index(
        "ix_places_unmet_needs_municipality", "places_unmet_needs", ["municipality"]
    )


def downgrade() -> None:
    op.drop_table("places_unmet_needs")
    op.drop_table("places_availability")
    op.drop_table("places_locations")
    op.drop_table("places_organisations")
