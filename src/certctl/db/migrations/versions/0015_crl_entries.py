"""Each revocation keeps the DER of its CRL entry, encoded once when recorded (C6, C13).

Existing revocations are encoded here by the code that encodes new ones
(`domain.crl_entry`); one that cannot be listed (unknown reason, invalid serial) is left
without, and its CA's CRL is refused naming why, as it was before.

On PostgreSQL the stored CRL (megabytes of base64 for 100,000 entries) is kept out of line
uncompressed: compressing it took most of the time of saving a regenerated CRL, for
little room saved (base64 of signatures and serials hardly compresses).

Revision ID: 0015_crl_entries
Revises: 0014_escalation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from certctl.domain.crl_entry import crl_entry_der
from certctl.errors import InvalidRequest

revision = "0015_crl_entries"
down_revision = "0014_escalation"
branch_labels = None
depends_on = None

_BATCH = 10_000
_REVOCATIONS = sa.table(
    "certificate_revocations",
    sa.column("id", sa.String),
    sa.column("serial_number", sa.String),
    sa.column("reason", sa.String),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
    sa.column("entry_der", sa.LargeBinary),
)


def upgrade() -> None:
    with op.batch_alter_table("certificate_revocations") as batch:
        batch.add_column(sa.Column("entry_der", sa.LargeBinary, nullable=True))
    _backfill(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE crl_state ALTER COLUMN der SET STORAGE EXTERNAL")


def _backfill(bind: sa.Connection) -> None:
    """Encode every existing revocation, a batch of ids at a time (keyset order)."""
    rev = _REVOCATIONS.c
    fill = (
        sa.update(_REVOCATIONS)
        .where(rev.id == sa.bindparam("b_id"))
        .values(entry_der=sa.bindparam("b_der"))
    )
    last = ""
    while True:
        rows = bind.execute(
            sa.select(rev.id, rev.serial_number, rev.revoked_at, rev.reason)
            .where(rev.id > last)
            .order_by(rev.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        encoded = []
        for row_id, serial_hex, revoked_at, reason in rows:
            try:
                encoded.append(
                    {"b_id": row_id, "b_der": crl_entry_der(serial_hex, revoked_at, reason)}
                )
            except InvalidRequest:
                continue  # left NULL: regenerating its CA's CRL refuses it, naming why
        if encoded:
            bind.execute(fill, encoded)
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE crl_state ALTER COLUMN der SET STORAGE EXTENDED")
    with op.batch_alter_table("certificate_revocations") as batch:
        batch.drop_column("entry_der")
