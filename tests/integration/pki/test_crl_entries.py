"""CRLs from entries encoded when revocations are recorded: which rows, in which order."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from cryptography import x509
from sqlalchemy import Connection, insert, select, text, update

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.db import migrate as migrations
from certctl.db.database import Database
from certctl.db.models import CertificateRevocationRow, CertificateVersionRow, ManagedCertificateRow
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.crl_entry import crl_entry_der
from certctl.domain.pki import Revocation
from certctl.domain.revocation import RevocationReason
from certctl.errors import ConfigurationError, InvalidRequest
from certctl.pki.crl import RevokedEntry, build_crl
from certctl.services.revocation import SHORT_LIVED


async def _issuer(ctx: AppContext, name: str = "Local") -> str:
    issuer = await ctx.issuers.create(
        SYSTEM_CALLER, {"name": name, "type": "GenericCA", "config": {}}
    )
    return str(issuer.id)


async def _revoked(
    ctx: AppContext,
    issuer_id: str,
    serial: str,
    revoked_at: datetime,
    *,
    reason: str = "superseded",
    lifetime: timedelta | None = timedelta(days=90),
) -> None:
    """A certificate (with a version of `lifetime` unless None) and its recorded revocation."""
    now = revoked_at
    async with ctx.runtime.db.engine.begin() as conn:
        await conn.execute(
            insert(ManagedCertificateRow.__table__).values(
                id=f"mc-{issuer_id}-{serial}", name=f"{issuer_id}-{serial}", common_name="x",
                sans=[], environment="", issuer_id=issuer_id, status="Revoked", tags={},
                source="manual", created_at=now, updated_at=now,
            )
        )  # fmt: skip
        if lifetime is not None:
            not_before = revoked_at - timedelta(hours=1)
            await conn.execute(
                insert(CertificateVersionRow.__table__).values(
                    id=f"cv-{issuer_id}-{serial}", certificate_id=f"mc-{issuer_id}-{serial}",
                    serial_number=serial, not_before=not_before, not_after=not_before + lifetime,
                    fingerprint_sha256=f"{issuer_id}-{serial}", pem_chain="", created_at=now,
                )
            )  # fmt: skip
    async with ctx.runtime.db.uow() as uow:
        await uow.pki.add_revocation(
            Revocation(
                id=f"rev-{issuer_id}-{serial}",
                certificate_id=f"mc-{issuer_id}-{serial}",
                issuer_id=issuer_id,
                serial_number=serial,
                reason=reason,
                revoked_by="admin",
                revoked_at=revoked_at,
            )
        )


async def _stored_der(ctx: AppContext, serial: str) -> bytes | None:
    rev = CertificateRevocationRow.__table__.c
    async with ctx.runtime.db.engine.connect() as conn:
        found = await conn.scalar(select(rev.entry_der).where(rev.serial_number == serial))
    return None if found is None else bytes(found)


async def test_a_recorded_revocation_keeps_the_der_of_its_crl_entry(
    ctx: AppContext, clock: FrozenClock
) -> None:
    """The row stores exactly crl_entry_der of its serial, time and reason."""
    issuer_id = await _issuer(ctx)
    at = clock.now() + timedelta(microseconds=250)
    await _revoked(ctx, issuer_id, "0a1b", at, reason="keyCompromise")
    assert await _stored_der(ctx, "0a1b") == crl_entry_der("0a1b", at, "keyCompromise")


async def test_crl_lists_stored_entries_in_order_without_short_lived_or_other_cas(
    ctx: AppContext, clock: FrozenClock
) -> None:
    """Time then serial order; a version shorter than SHORT_LIVED and another CA's row are left out."""
    issuer_id, other_id = await _issuer(ctx), await _issuer(ctx, "Other")
    t0 = clock.now() - timedelta(hours=3)
    micro = timedelta(microseconds=1)
    await _revoked(ctx, issuer_id, "0b", t0 + timedelta(hours=1), reason="keyCompromise")
    await _revoked(ctx, issuer_id, "0a", t0 + timedelta(hours=1), reason="unspecified")
    await _revoked(ctx, issuer_id, "05", t0, lifetime=SHORT_LIVED)
    await _revoked(ctx, issuer_id, "06", t0, lifetime=SHORT_LIVED - micro)
    await _revoked(ctx, issuer_id, "07", t0 + timedelta(hours=2), lifetime=None)
    await _revoked(ctx, other_id, "08", t0)
    state = await ctx.revocation.regenerate_crl(issuer_id)
    assert state.der_b64 is not None
    crl = x509.load_der_x509_crl(base64.b64decode(state.der_b64))
    assert [r.serial_number for r in crl] == [0x05, 0x0A, 0x0B, 0x07]
    async with ctx.runtime.db.uow() as uow:
        ca = await ctx.pki.ca(uow, issuer_id)
    listed = [
        RevokedEntry("05", t0, RevocationReason.SUPERSEDED),
        RevokedEntry("0a", t0 + timedelta(hours=1)),
        RevokedEntry("0b", t0 + timedelta(hours=1), RevocationReason.KEY_COMPROMISE),
        RevokedEntry("07", t0 + timedelta(hours=2), RevocationReason.SUPERSEDED),
    ]
    reference = build_crl(
        ca, listed, crl_number=state.crl_number, this_update=state.this_update,  # type: ignore[arg-type]
        next_update=state.next_update,  # type: ignore[arg-type]
    )  # fmt: skip
    assert crl.tbs_certlist_bytes == x509.load_der_x509_crl(reference).tbs_certlist_bytes
    assert crl.is_signature_valid(ca.key.public_key())  # type: ignore[arg-type]


async def test_a_revocation_that_cannot_be_listed_refuses_the_crl_naming_why(
    ctx: AppContext, clock: FrozenClock
) -> None:
    """A row stored with an unknown reason has no entry; the CRL is refused naming `reason`."""
    issuer_id = await _issuer(ctx)
    await _revoked(ctx, issuer_id, "01", clock.now(), reason="bored")
    assert await _stored_der(ctx, "01") is None
    with pytest.raises(InvalidRequest) as caught:
        await ctx.revocation.regenerate_crl(issuer_id)
    assert caught.value.field == "reason"
    assert "unknown revocation reason 'bored'" in str(caught.value)


async def test_a_listable_row_without_its_entry_refuses_the_crl(
    ctx: AppContext, clock: FrozenClock
) -> None:
    """A valid row whose entry was never stored is reported, not silently left off the CRL."""
    issuer_id = await _issuer(ctx)
    await _revoked(ctx, issuer_id, "01", clock.now())
    async with ctx.runtime.db.engine.begin() as conn:
        await conn.execute(update(CertificateRevocationRow.__table__).values(entry_der=None))
    with pytest.raises(ConfigurationError) as caught:
        await ctx.revocation.regenerate_crl(issuer_id)
    assert str(caught.value) == f"revocations of {issuer_id} without a stored CRL entry: 1"


def _downgrade_to_0014(connection: Connection) -> None:
    command.downgrade(migrations._config(connection), "0014_escalation")


OLD = [  # serial, revocation time (with a fraction, dropped by the encoding), reason
    ("0a1b", datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC), "keyCompromise"),
    ("80ff", datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC), "unspecified"),
    ("0c", datetime(2026, 5, 2, tzinfo=UTC), "bored"),
]


async def test_migration_encodes_revocations_recorded_before_it_as_new_ones_are(
    database_url: str,
) -> None:
    """Backfilled entries are the bytes recording stores for the same facts; unlistable stay NULL."""
    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_downgrade_to_0014)
            for serial, at, reason in OLD:
                await conn.execute(
                    insert(ManagedCertificateRow.__table__).values(
                        id=f"mc-{serial}", name=serial, common_name="x", sans=[],
                        environment="", status="Revoked", tags={}, source="manual",
                        created_at=at, updated_at=at,
                    )
                )  # fmt: skip
                # Only the columns revision 0014 has: entry_der does not exist yet.
                await conn.execute(
                    insert(CertificateRevocationRow.__table__).values(
                        id=f"rev-{serial}", certificate_id=f"mc-{serial}", issuer_id="iss-old",
                        serial_number=serial, reason=reason, revoked_by="admin",
                        revoked_at=at, issuer_notified=True,
                    )
                )  # fmt: skip
        await db.upgrade()
        async with db.uow() as uow:  # the same facts recorded now, for another CA
            for serial, at, reason in OLD:
                await uow.pki.add_revocation(
                    Revocation(
                        id=f"rev-new-{serial}", certificate_id=f"mc-{serial}",
                        issuer_id="iss-new", serial_number=serial, reason=reason,
                        revoked_by="admin", revoked_at=at,
                    )
                )  # fmt: skip
        rev = CertificateRevocationRow.__table__.c
        async with db.engine.connect() as conn:
            rows = await conn.execute(select(rev.issuer_id, rev.serial_number, rev.entry_der))
            found = {(i, s): None if d is None else bytes(d) for i, s, d in rows}
    finally:
        await db.dispose()
    stored = {s: d for (i, s), d in found.items() if i == "iss-old"}
    assert {s: d for (i, s), d in found.items() if i == "iss-new"} == stored
    assert stored == {
        "0a1b": bytes.fromhex("3021" "02020a1b" "170d") + b"260501120000Z"
        + bytes.fromhex("300c300a0603551d1504030a0101"),
        "80ff": bytes.fromhex("3016" "02030080ff" "180f") + b"20510102030405Z",
        "0c": None,
    }  # fmt: skip
    assert stored["0a1b"] == crl_entry_der(*OLD[0])
    assert stored["80ff"] == crl_entry_der(*OLD[1])


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_stored_crl_is_kept_uncompressed_on_postgresql(database_url: str) -> None:
    """crl_state.der has storage EXTERNAL: saving a CRL of megabytes skips compression."""
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            storage = await conn.scalar(
                text(
                    "SELECT attstorage::text FROM pg_attribute"
                    " WHERE attrelid = 'crl_state'::regclass AND attname = 'der'"
                )
            )
    finally:
        await db.dispose()
    assert storage == "e"
