"""Shared pieces of the local CA benchmark: sizes, targets, CSRs, OCSP requests, databases."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

import harness

RESULTS = Path(__file__).resolve().parent / "results" / "pki.json"
ENCRYPTION_KEY = "bench-pki-encryption-key-0123456789"
API_KEY = "bench-pki-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
OCSP_REQUEST_TYPE = "application/ocsp-request"
REQUEST_TIMEOUT = 30.0
PROBE_TIMEOUT = 10.0
MAX_IN_FLIGHT = 256  # open loop: requests beyond this many unanswered are counted, not sent
OPEN_LOOP_CONNECTIONS = 8
OCSP_WARM_PASSES = 8  # before measuring, so each serial has reached both workers' caches

# SPEC C13's one-core figures on its reference machine (for comparison, not targets).
SPEC_REFERENCE = {
    "ecdsa_sign": 23_500.0,
    "leaf_facts_ec": 3_000.0,
    "leaf_facts_rsa": 1_100.0,
    "ocsp_sign": 9_400.0,
}
ISSUANCE_TARGET = 500.0  # certificates/s through the API with the database write, 2 cores
HEALTH_P99_TARGET_MS = 50.0
CRL_RATIO_TARGET = 1.2
OCSP_TARGET = 3_000.0  # responses/s from the pre-signed cache, 2 workers


@dataclass(frozen=True)
class Sizes:
    leaves: int
    concurrency: int
    http_certs: int
    http_concurrency: int
    duration: float
    warmup: float
    crl_entries: int
    crl_repeat: int
    anchor_seconds: float
    ocsp_serials: int
    ocsp_seconds: float
    ocsp_concurrency: int
    probe_rate: float


QUICK = {
    "leaves": 300,
    "http_certs": 2_500,
    "duration": 2.0,
    "warmup": 0.5,
    "crl_entries": 10_000,
    "crl_repeat": 1,
    "anchor_seconds": 0.3,
    "ocsp_serials": 100,
    "ocsp_seconds": 0.5,
}
FULL = {
    "leaves": 10_000,
    "http_certs": 15_000,
    "duration": 10.0,
    "warmup": 1.0,
    "crl_entries": 100_000,
    "crl_repeat": 3,
    "anchor_seconds": 2.0,
    "ocsp_serials": 300,
    "ocsp_seconds": 3.0,
}


# --------------------------------------------------------------------------- crypto helpers


def new_csr(cn: str) -> str:
    """A CSR for `cn` (SAN DNS:cn) with a fresh EC P-256 key, as an agent would send."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def ocsp_request(ca_cert: x509.Certificate, serial_hex: str) -> bytes:
    """A nonce-less DER OCSP request (SHA-1 CertID, as openssl and browsers send)."""
    ids = ocsp.OCSPRequestBuilder().add_certificate(ca_cert, ca_cert, hashes.SHA1()).build()
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            ids.issuer_name_hash, ids.issuer_key_hash, int(serial_hex, 16), hashes.SHA1()
        )
        .build()
    )
    return request.public_bytes(serialization.Encoding.DER)


class AnswerCheck:
    """Judges OCSP answers; identical answers (the cache's) are judged once."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, bytes], str] = {}

    def __call__(self, serial_hex: str, der: bytes) -> str:
        key = (serial_hex, der)
        verdict = self.seen.get(key)
        if verdict is None:
            verdict = self.seen[key] = judge_answer(serial_hex, der)
        return verdict

    def fresh_since(self, mark: int) -> int:
        return len(self.seen) - mark


def judge_answer(serial_hex: str, der: bytes) -> str:
    """`ok` for a successful answer saying `good` about `serial_hex`, else what is wrong."""
    try:
        answer = ocsp.load_der_ocsp_response(der)
    except ValueError:
        return "unparsable"
    if answer.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return f"status:{answer.response_status.name}"
    if answer.certificate_status is not ocsp.OCSPCertStatus.GOOD:
        return f"cert:{answer.certificate_status.name}"
    if format(answer.serial_number, "x") != serial_hex:
        return "wrong-serial"
    return "ok"


def default_profile(now: datetime) -> Any:
    from certctl.domain.policies import CertificateProfile

    return CertificateProfile(id="default", name="default", created_at=now, updated_at=now)


# --------------------------------------------------------------------------- databases


CERT_COLUMNS = (
    "id",
    "name",
    "common_name",
    "sans",
    "environment",
    "issuer_id",
    "status",
    "expires_at",
    "tags",
    "source",
    "revoked_at",
    "revocation_reason",
    "created_at",
    "updated_at",
)
VERSION_COLUMNS = (
    "id",
    "certificate_id",
    "serial_number",
    "not_before",
    "not_after",
    "fingerprint_sha256",
    "pem_chain",
    "subject_dn",
    "issuer_dn",
    "key_algorithm",
    "key_size",
    "created_at",
)
REVOCATION_COLUMNS = (
    "id",
    "certificate_id",
    "issuer_id",
    "serial_number",
    "reason",
    "revoked_by",
    "revoked_at",
    "issuer_notified",
    "entry_der",
)


async def bulk_insert(url: str, tables: Sequence[harness.Table]) -> None:
    """COPY (PostgreSQL, then ANALYZE) or one executemany transaction (SQLite)."""
    await harness.seed(url, tables, after="ANALYZE")


def pending_cert_rows(prefix: str, count: int, issuer_id: str, now: datetime) -> list[tuple]:
    rows = []
    for index in range(count):
        cn = f"{prefix}{index:06d}.bench.example.com"
        rows.append(
            (
                f"mc-{prefix}-{index:06d}",
                cn,
                cn,
                json.dumps([cn]),
                "production",
                issuer_id,
                "Pending",
                None,
                "{}",
                "manual",
                None,
                None,
                now,
                now,
            )
        )
    return rows


class Databases:
    """A SQLite file per name, or a database per name in one throwaway PostgreSQL cluster."""

    def __init__(self, stack: contextlib.ExitStack, workdir: Path) -> None:
        self.stack = stack
        self.workdir = workdir
        self.cluster: harness.Cluster | None = None
        self.db_pid: int | None = None
        self.pg_version = ""

    def create(self, backend: str, name: str) -> str:
        if backend == "sqlite":
            url = harness.sqlite_url(self.workdir / f"{name}.db")
        else:
            if self.cluster is None:
                self.cluster = harness.Cluster(self.stack)
                self.db_pid = self.cluster.pid
            url = asyncio.run(self.cluster.create_database(name))
            self.pg_version = self.cluster.version
        asyncio.run(harness.migrate(url))
        return url


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    with asyncio.Runner(loop_factory=harness.loop_factory()) as runner:
        return runner.run(coro)


def bench_settings(url: str) -> Any:
    from certctl.settings import Settings

    return Settings(database_url=url, config_encryption_key=ENCRYPTION_KEY)  # type: ignore[arg-type]


async def create_issuer(ctx: Any, name: str) -> str:
    from certctl.domain.access import SYSTEM_CALLER

    issuer = await ctx.issuers.create(
        SYSTEM_CALLER, {"name": name, "type": "GenericCA", "config": {}}
    )
    return str(issuer.id)


def db_cpu(db_pid: int | None) -> float | None:
    return harness.tree_cpu_seconds(db_pid, harness.proc_table())
