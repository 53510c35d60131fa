"""stored comparisons: network benchmarks per period and questionnaire version

Revision ID: b7c41e9a2d10
Revises: 76e50c3e0b77
Create Date: 2026-11-28 03:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b7c41e9a2d10"
down_revision = "76e50c3e0b77"
branch_labels = None
depends_on = None


def _key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "comparison_versions",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=120), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        _key("comparison_versions", "period_id", "periods"),
        _key("comparison_versions", "questionnaire_id", "questionnaires"),
        sa.PrimaryKeyConstraint("period_id", "questionnaire_id",
                                name=op.f("pk_comparison_versions")),
    )
    op.create_table(
        "network_benchmarks",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("dimension_id", sa.String(length=64), nullable=False),
        sa.Column("national_percentile", sa.Float(), nullable=True),
        sa.Column("region_percentile", sa.Float(), nullable=True),
        sa.Column("national_median", sa.Float(), nullable=True),
        sa.Column("networks", sa.Integer(), nullable=True),
        sa.Column("region_median", sa.Float(), nullable=True),
        sa.Column("region_networks", sa.Integer(), nullable=False),
        _key("network_benchmarks", "network_id", "networks"),
        _key("network_benchmarks", "period_id", "periods"),
        _key("network_benchmarks", "questionnaire_id", "questionnaires"),
        sa.PrimaryKeyConstraint("period_id", "questionnaire_id", "network_id", "dimension_id",
                                name=op.f("pk_network_benchmarks")),
    )


def downgrade() -> None:
    op.drop_table("network_benchmarks")
    op.drop_table("comparison_versions")
