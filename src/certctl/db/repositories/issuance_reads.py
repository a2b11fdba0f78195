"""What issuance reads, one statement each: a CSR submission's inputs, and the certificates a
batch of issued versions is written over.

The certificate (with its target links), its open issuance or renewal job, its issuer, the
profile the CSR is checked against (the certificate's own, else its renewal policy's) and,
for a local CA, the stored CA row. Read one by one these were four to six statements per
submission; at hundreds of submissions a second each statement's client-side cost (building
parameters, the driver round trip, mapping the row) outweighs the database's work, so they
are one `SELECT` of outer joins on primary keys here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Label, Table, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from certctl.db.models import (
    AlertRow,
    CertificateProfileRow,
    CertificateRenewalInfoRow,
    CertificateTargetRow,
    IssuerCARow,
    IssuerRow,
    JobRow,
    ManagedCertificateRow,
    RenewalPolicyRow,
)
from certctl.db.repositories.alerts import OPEN_ALERT_STATES
from certctl.db.repositories.base import Codec, constant_in
from certctl.db.repositories.certificate_reads import COLUMNS, driver_rows, grouped
from certctl.db.repositories.inventory import ISSUER, PROFILE
from certctl.db.repositories.jobs import JOB, open_issuing_filter
from certctl.db.repositories.pki import STORED_CA
from certctl.domain.certificates import ManagedCertificate
from certctl.domain.inventory import Issuer
from certctl.domain.jobs import Job
from certctl.domain.pki import StoredCA
from certctl.domain.policies import CertificateProfile
from certctl.errors import NotFound

D = TypeVar("D")


class _Part(Generic[D]):
    """One joined table's columns in the row, labelled `prefix` + field, and their decoding."""

    def __init__(self, table: Table, codec: Codec[D], prefix: str) -> None:
        self.codec = codec
        self.columns: list[Label[Any]] = [
            table.c[name].label(prefix + name) for name in codec.fields
        ]

    def decode(self, row: Sequence[Any], start: int) -> D | None:
        """The object whose columns start at `start`, or None when the join found no row."""
        values = row[start : start + len(self.columns)]
        if values[0] is None:  # every part starts with its primary key
            return None
        return self.codec.from_row(
            SimpleNamespace(**dict(zip(self.codec.fields, values, strict=True)))
        )


_CERTS = cast(Table, ManagedCertificateRow.__table__)
_LINKS = cast(Table, CertificateTargetRow.__table__)
_ISSUERS = cast(Table, IssuerRow.__table__)
_CAS = cast(Table, IssuerCARow.__table__)
_POLICIES = cast(Table, RenewalPolicyRow.__table__)
_PROFILES = cast(Table, CertificateProfileRow.__table__)
_JOBS = cast(Table, JobRow.__table__)

_JOB = _Part(_JOBS, JOB, "job_")
_ISSUER = _Part(_ISSUERS, ISSUER, "issuer_")
_PROFILE = _Part(_PROFILES, PROFILE, "profile_")
_CA = _Part(_CAS, STORED_CA, "ca_")
_PARTS: list[_Part[Any]] = [_JOB, _ISSUER, _PROFILE, _CA]

_open_job = _JOBS.alias("open_job")
_wanted_profile = func.coalesce(_CERTS.c.certificate_profile_id, _POLICIES.c.certificate_profile_id)
# Columns: the certificate's (as CertificateReads selects them), then each part's, the id of
# the profile the certificate asks for, and last the target link (one row per link).
_FOR_CSR = (
    select(
        *COLUMNS,
        *(column for part in _PARTS for column in part.columns),
        _wanted_profile.label("wanted_profile_id"),
        _LINKS.c.target_id,
    )
    .select_from(_CERTS)
    .outerjoin(_LINKS, _LINKS.c.certificate_id == _CERTS.c.id)
    .outerjoin(_ISSUERS, _ISSUERS.c.id == _CERTS.c.issuer_id)
    .outerjoin(_CAS, _CAS.c.issuer_id == _ISSUERS.c.id)
    .outerjoin(_POLICIES, _POLICIES.c.id == _CERTS.c.renewal_policy_id)
    .outerjoin(_PROFILES, _PROFILES.c.id == _wanted_profile)
    .outerjoin(
        _JOBS,
        _JOBS.c.id
        == select(_open_job.c.id)
        .where(_open_job.c.certificate_id == _CERTS.c.id, *open_issuing_filter(_open_job))
        .limit(1)
        .scalar_subquery(),
    )
    .where(_CERTS.c.id == bindparam("certificate_id"))
    .order_by(_LINKS.c.target_id)
)


@dataclass(frozen=True)
class CsrInputs:
    """A certificate and what issuing from a CSR for it reads with it."""

    cert: ManagedCertificate
    job: Job | None
    """Its open issuance or renewal job (at most one: a unique index keeps it so)."""
    issuer: Issuer | None
    profile: CertificateProfile | None
    """The certificate's profile, else its renewal policy's; None when neither names one."""
    stored_ca: StoredCA | None
    """The issuer's local CA row, when it has one."""


async def read_csr_inputs(conn: AsyncConnection, certificate_id: str) -> CsrInputs | None:
    """The certificate and its issuance inputs, or None when there is no such certificate.

    Every CSR submission sends it: on PostgreSQL its row comes straight from the driver,
    whose codecs already decode the JSON columns and hand back aware UTC instants."""
    params = {"certificate_id": certificate_id}
    rows: Sequence[Sequence[Any]]
    if conn.dialect.name == "postgresql":
        rows = await driver_rows(conn, _FOR_CSR, params)
    else:
        rows = (await conn.execute(_FOR_CSR, params)).all()
    if not rows:
        return None
    first = rows[0]
    start = len(COLUMNS)
    found: list[Any] = []
    for part in _PARTS:
        found.append(part.decode(first, start))
        start += len(part.columns)
    job, issuer, profile, stored_ca = found
    wanted = first[start]
    if wanted is not None and profile is None:  # foreign keys prevent it; never guess
        raise NotFound("certificate_profile", wanted)
    return CsrInputs(
        cert=grouped(rows)[0], job=job, issuer=issuer, profile=profile, stored_ca=stored_ca
    )


_WINDOWS = cast(Table, CertificateRenewalInfoRow.__table__)
_ALERTS = cast(Table, AlertRow.__table__)
# The certificates a batch of new versions is written over, each with two flags that let the
# write skip what it would do for nothing: dropping a renewal window (ARI) and locking open
# alerts, which most certificates do not have.
_FOR_WRITE = (
    select(
        *COLUMNS,
        exists().where(_WINDOWS.c.certificate_id == _CERTS.c.id).label("has_window"),
        exists()
        .where(
            _ALERTS.c.certificate_id == _CERTS.c.id,
            constant_in(_ALERTS.c.state, OPEN_ALERT_STATES),
        )
        .label("has_open_alert"),
        _LINKS.c.target_id,
    )
    .outerjoin(_LINKS, _LINKS.c.certificate_id == _CERTS.c.id)
    .where(_CERTS.c.id.in_(bindparam("certificate_ids", expanding=True)))
    .order_by(_CERTS.c.id, _LINKS.c.target_id)
)


@dataclass(frozen=True)
class IssuingCertificates:
    """The certificates found among those asked for, by id, and which of them have a
    renewal window or an open alert."""

    found: dict[str, ManagedCertificate]
    with_window: frozenset[str]
    with_open_alert: frozenset[str]


async def read_issuing(
    conn: AsyncConnection, certificate_ids: Sequence[str]
) -> IssuingCertificates:
    """The certificates among `certificate_ids` that exist, with their two flags."""
    rows = (await conn.execute(_FOR_WRITE, {"certificate_ids": list(certificate_ids)})).all()
    flags = len(COLUMNS)
    return IssuingCertificates(
        found={c.id: c for c in grouped(rows)},
        with_window=frozenset(row[0] for row in rows if row[flags]),
        with_open_alert=frozenset(row[0] for row in rows if row[flags + 1]),
    )
