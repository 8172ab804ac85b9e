"""invite reservation for confirmed role changes

Revision ID: 583812a032ea
Revises: 8d6f5a9cd9f7
Create Date: 2026-12-04 16:18:45.031075
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.models.base

revision: str = "583812a032ea"
down_revision: str | None = "8d6f5a9cd9f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_invite_reserved_by_id_person"


def upgrade() -> None:
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reserved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reserved_at", backend.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(FOREIGN_KEY, "person", ["reserved_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        batch_op.drop_column("reserved_at")
        batch_op.drop_column("reserved_by_id")
