"""dashboard indexes on case status and deadlines

Revision ID: bbb797b4b465
Revises: e52e13313407
Create Date: 2026-11-27 21:46:33.913853
"""

from collections.abc import Sequence

from alembic import op

revision: str = "bbb797b4b465"
down_revision: str | None = "e52e13313407"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_status_accept_deadline", ["status", "accept_deadline"], unique=False
        )
        batch_op.create_index(
            "ix_case_status_handle_deadline", ["status", "handle_deadline"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_status_handle_deadline")
        batch_op.drop_index("ix_case_status_accept_deadline")
