"""Certificate profiles gain a preset (`cabf-serverauth`) (C5).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificate_profiles") as batch:
        batch.add_column(sa.Column("preset", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("certificate_profiles") as batch:
        batch.drop_column("preset")
