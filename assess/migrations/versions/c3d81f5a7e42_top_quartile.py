"""stored top quartiles: network_benchmarks.top_quartile

Revision ID: c3d81f5a7e42
Revises: b7c41e9a2d10
Create Date: 2026-11-28 04:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c3d81f5a7e42"
down_revision = "b7c41e9a2d10"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("network_benchmarks") as batch:
        batch.add_column(sa.Column("top_quartile", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    # Rows stored before this revision have no top quartile yet: recompute them
    # (services.reports.COMPARISON_FORMAT changed too, so this is belt and braces).
    op.execute("DELETE FROM comparison_versions")


def downgrade() -> None:
    with op.batch_alter_table("network_benchmarks") as batch:
        batch.drop_column("top_quartile")
