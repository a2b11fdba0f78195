"""Local CA performance against SPEC C13: issuance, CRLs and OCSP, each against an anchor.

    .venv/bin/python bench/pki.py --quick                       # CI size, both backends
    .venv/bin/python bench/pki.py                               # full size, both backends
    .venv/bin/python bench/pki.py --backend postgresql --skip-http
    .venv/bin/python bench/pki.py --help

Five parts, one table each; every target is a ratio against an anchor measured in the same run.

1. Anchors, one thread, no database: ECDSA P-256 signatures/s through `cryptography`; a leaf
   through `certctl.pki.issuance.issue_leaf` from a parsed CSR and from PEM (PEM adds the
   CSR parse and signature check that `IssuanceService.issue_from_csr` also does), with an EC
   P-256 and an RSA-2048 CA from `certctl.pki.ca.create_root`; one OCSP answer through
   `certctl.pki.ocsp.build_response` (EC P-256 responder, as the service makes), without and
   with the request parse.
2. `ctx.issuance.issue_from_csr` in this process, the application context built as the server
   builds it (`certctl.bootstrap.build_context`, uvloop): N certificates inserted with SQL
   under one GenericCA issuer, one CSR each, generated beforehand and not timed, C issuances
   in flight. CPU is this process (all threads) plus the PostgreSQL cluster. `x raw` is
   leaves/s over the one-core PEM leaf anchor; `signing share` is leaves/s over (anchor x
   cores used), the fraction of the CPU that went to the CSR check and the signature.
3. `POST /api/v1/certificates/{id}/csr` against the real `certctl serve` (PostgreSQL with
   CERTCTL_SERVER_WORKERS=2, SQLite with 1), a closed loop of C requests in flight, each
   certificate once with its own CSR (a load generator that runs out of certificates
   starts over; each pass adds a version). Meanwhile a prober in its own process opens a new
   connection every 1/R s and times `GET /health` from its scheduled send time, so it
   shows whether signing holds up the event loops. Anchors on the same server: the prober on
   the idle server, and a closed-loop `GET /health`.
4. `certctl.pki.crl.build_crl` against `openssl ca -gencrl` over the same entries (an openssl
   CA directory: index.txt of `R` lines with the same serials, dates and reasons, the same CA
   key and certificate in PEM), the median of --crl-repeat runs each, with the DER sizes;
   then `PkiService.regenerate_crl` end to end over as many revocation rows (with their
   certificates and versions) inserted with SQL, and where its time goes.
5. OCSP: (a) `ctx.ocsp.ocsp(issuer, der)` in this process, nonce-less requests for S issued
   serials after one warm-up request each (that first pass, signed and looked up in the
   database, is shown too), against the build_response anchor; (b) POST
   application/ocsp-request to the server (2 workers on PostgreSQL), S serials, every one
   asked several times before measuring so both workers' caches hold it. Every answer is
   checked (successful response, status good, the serial asked about); `fresh` counts
   answers signed during the measurement instead of coming from the cache.

Load generators run asyncio on uvloop in their own processes (spawn) with the minimal
HTTP/1.1 client of bench/harness.py (about 0.05 ms of CPU per request); `--client httpx`
uses httpx.AsyncClient instead (1-3 ms per request: one such process becomes the
bottleneck); `--client-procs` splits the load over several processes. CPU columns are in %
of one core (the machine has nproc x 100 %): `client` the load generators, `server` the
uvicorn master and workers, `db` the PostgreSQL cluster (SQLite runs inside the server),
`other` everything else on the machine; `ms/req` is server + database CPU per answer.
Results: bench/results/pki.json (git-ignored). All load goes to 127.0.0.1; every process
and temporary directory is removed on exit, errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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


# --------------------------------------------------------------------------- part 1: anchors


def per_second(fn: Callable[[int], object], seconds: float) -> dict[str, Any]:
    """Call fn(0), fn(1), ... for `seconds` on this thread; rate and CPU."""
    fn(0)  # first call outside the timing (imports, lazy caches)
    count, cpu0, t0 = 0, time.process_time(), time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(16):
            fn(count)
            count += 1
        if time.perf_counter() >= deadline:
            break
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "ops": count,
        "seconds": round(wall, 3),
        "per_s": round(count / wall, 1),
        "us_per_op": round(1e6 * wall / count, 1),
        "cpu_pct": round(100 * cpu / wall),
    }


class AnchorKit:
    """The one-thread anchors, ready to be measured again right before each target, so a
    ratio compares figures taken under the same load on the machine."""

    def __init__(self) -> None:
        from certctl.pki.ca import create_root
        from certctl.pki.csr import parse_csr
        from certctl.pki.issuance import issue_leaf
        from certctl.pki.ocsp import CertStatus, build_response, make_responder, parse_request

        now = datetime.now(UTC)
        profile = default_profile(now)
        pems = [new_csr(f"anchor{i:04d}.bench.example.com") for i in range(256)]
        facts = [parse_csr(p) for p in pems]
        ec_ca = create_root("certctl bench EC CA", "ECDSA-P256", now=now)
        rsa_ca = create_root("certctl bench RSA CA", "RSA-2048", now=now)
        responder = make_responder(ec_ca, now)
        ders = [ocsp_request(ec_ca.certificate, format(10_000 + i, "x")) for i in range(256)]
        infos = [parse_request(d) for d in ders]
        key = ec.generate_private_key(ec.SECP256R1())
        message = os.urandom(400)  # about a leaf's to-be-signed part
        signature = ec.ECDSA(hashes.SHA256())
        later = now + timedelta(hours=24)

        def leaf(ca: Any, source: list[Any]) -> Callable[[int], object]:
            return lambda i: issue_leaf(ca, source[i % 256], profile=profile, now=now)

        def answer(i: int) -> bytes:
            return build_response(
                ec_ca,
                responder,
                infos[i % 256],
                CertStatus.GOOD,
                this_update=now,
                next_update=later,
            )

        def parse_and_answer(i: int) -> bytes:
            info = parse_request(ders[i % 256])
            return build_response(
                ec_ca, responder, info, CertStatus.GOOD, this_update=now, next_update=later
            )

        self.cases: dict[str, tuple[str, Callable[[int], object]]] = {
            "ecdsa_sign": (
                "ECDSA P-256 signature (cryptography)",
                lambda i: key.sign(message, signature),
            ),
            "csr_check": (
                "CSR parse + signature check (parse_csr)",
                lambda i: parse_csr(pems[i % 256]),
            ),
            "leaf_facts_ec": ("leaf from parsed CSR, EC P-256 CA", leaf(ec_ca, facts)),
            "leaf_pem_ec": ("leaf from PEM CSR, EC P-256 CA", leaf(ec_ca, pems)),
            "leaf_facts_rsa": ("leaf from parsed CSR, RSA-2048 CA", leaf(rsa_ca, facts)),
            "leaf_pem_rsa": ("leaf from PEM CSR, RSA-2048 CA", leaf(rsa_ca, pems)),
            "ocsp_sign": ("OCSP build_response + sign (EC responder)", answer),
            "ocsp_parse_sign": ("OCSP parse_request + build_response", parse_and_answer),
        }

    def rate(self, key: str, seconds: float) -> float:
        """Operations per second of one anchor, measured now."""
        return float(per_second(self.cases[key][1], seconds)["per_s"])

    def table(self, seconds: float) -> list[dict[str, Any]]:
        rows = []
        for key, (label, fn) in self.cases.items():
            result = per_second(fn, seconds)
            reference = SPEC_REFERENCE.get(key)
            rows.append(
                {
                    "key": key,
                    "anchor": label,
                    **result,
                    "spec_per_s": reference,
                    "vs_spec": round(result["per_s"] / reference, 2) if reference else None,
                }
            )
            print(f"  {label}: {result['per_s']:,.0f}/s")
        return rows


# --------------------------------------------------------------------------- databases


def sqlite_value(value: Any) -> Any:
    """What SQLAlchemy stores on SQLite: naive UTC text with microseconds, booleans as 0/1."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]
    if isinstance(value, bool):
        return int(value)
    return value


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
)


async def bulk_insert(url: str, tables: Sequence[tuple[str, Sequence[str], list[tuple]]]) -> None:
    """COPY (PostgreSQL, then ANALYZE) or one executemany transaction (SQLite)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split(":///", 1)[1])
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            with conn:
                for table, columns, rows in tables:
                    marks = ", ".join("?" * len(columns))
                    conn.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                        (tuple(sqlite_value(v) for v in row) for row in rows),
                    )
        finally:
            conn.close()
        return
    import asyncpg

    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        for table, columns, rows in tables:
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def scalar(url: str, query: str) -> Any:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split(":///", 1)[1])
        try:
            return conn.execute(query).fetchone()[0]
        finally:
            conn.close()
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


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
        self.cluster: Any = None
        self.db_pid: int | None = None
        self.pg_version = ""

    def create(self, backend: str, name: str) -> str:
        from certctl.bootstrap import migrate
        from certctl.settings import Settings

        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{self.workdir / f'{name}.db'}"
        else:
            url = self._pg_database(name)
        asyncio.run(migrate(Settings(database_url=url)))
        return url

    def _pg_database(self, name: str) -> str:
        import asyncpg

        from certctl.testing.postgres import ThrowawayCluster

        if self.cluster is None:
            cluster = ThrowawayCluster()
            self.stack.callback(cluster.stop)
            cluster.start()
            self.cluster = cluster
            self.db_pid = harness.postmaster_pid(cluster.datadir)

        async def create() -> str:
            admin = await asyncpg.connect(self.cluster.admin_url)
            try:
                await admin.execute(f"CREATE DATABASE {name}")
                return str(await admin.fetchval("SHOW server_version"))
            finally:
                await admin.close()

        self.pg_version = asyncio.run(create())
        return str(self.cluster.url(name))


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


# --------------------------------------------------------------------------- part 2 and 5a


@dataclass
class MainDatabase:
    """The database of parts 2, 3 and 5: one GenericCA issuer and its pending certificates."""

    backend: str
    url: str
    db_pid: int | None
    issuer_id: str = ""
    ca_pem: str = ""
    serials: list[str] = field(default_factory=list)


async def service_part(
    main: MainDatabase, sizes: Sizes, kit: AnchorKit
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Part 2 (issue_from_csr) and part 5a (in-process OCSP) on one application context."""
    from certctl.bootstrap import build_context
    from certctl.domain.access import SYSTEM_CALLER

    ctx = build_context(bench_settings(main.url))
    try:
        main.issuer_id = await create_issuer(ctx, "certctl bench CA")
        main.ca_pem = (await ctx.pki.chain_pem(main.issuer_id)).split("-----END CERTIFICATE-----")[
            0
        ]
        main.ca_pem += "-----END CERTIFICATE-----\n"
        now = datetime.now(UTC)
        warm = min(20, sizes.leaves)
        started = time.perf_counter()
        await bulk_insert(
            main.url,
            [
                (
                    "managed_certificates",
                    CERT_COLUMNS,
                    pending_cert_rows("svc", sizes.leaves + warm, main.issuer_id, now)
                    + pending_cert_rows("http", sizes.http_certs, main.issuer_id, now),
                )
            ],
        )
        print(
            f"  inserted {sizes.leaves + warm + sizes.http_certs:,} certificates"
            f" in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        csrs = [new_csr(f"svc{i:06d}.bench.example.com") for i in range(sizes.leaves + warm)]
        print(
            f"  generated {len(csrs):,} CSRs in {time.perf_counter() - started:.1f} s (not timed)"
        )
        ids = [f"mc-svc-{i:06d}" for i in range(sizes.leaves + warm)]
        for cert_id, csr in zip(ids[:warm], csrs[:warm], strict=True):  # CA load, pool, caches
            await ctx.issuance.issue_from_csr(SYSTEM_CALLER, cert_id, csr)

        raw_leaf = kit.rate("leaf_pem_ec", sizes.anchor_seconds)  # now, under today's load
        work = iter(zip(ids[warm:], csrs[warm:], strict=True))
        errors: Counter[str] = Counter()
        serials: list[str] = []

        async def issuer_loop() -> None:
            for cert_id, csr in work:
                try:
                    _, version = await ctx.issuance.issue_from_csr(SYSTEM_CALLER, cert_id, csr)
                except Exception as exc:  # counted and shown; the run goes on
                    errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
                else:
                    serials.append(version.serial_number)

        busy0 = harness.machine_busy_seconds()
        db0, cpu0, t0 = db_cpu(main.db_pid), time.process_time(), time.perf_counter()
        await asyncio.gather(*(issuer_loop() for _ in range(sizes.concurrency)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        db1, busy = db_cpu(main.db_pid), harness.machine_busy_seconds() - busy0
        dbs = None if db0 is None or db1 is None else db1 - db0
        stored = await scalar(
            main.url,
            "SELECT count(*) FROM certificate_versions WHERE certificate_id LIKE 'mc-svc-%'",
        )
        main.serials = serials
        done = len(serials)
        rate = done / wall
        cores = (cpu + (dbs or 0.0)) / wall
        issuance = {
            "backend": main.backend,
            "leaves": done,
            "in_flight": sizes.concurrency,
            "errors": sum(errors.values()),
            "error_kinds": dict(errors),
            "versions_stored": stored,
            "seconds": round(wall, 2),
            "leaves_per_s": round(rate, 1),
            "anchor_per_s": round(raw_leaf),
            "x_raw": round(rate / raw_leaf, 3),
            "bench_cpu_pct": round(100 * cpu / wall),
            "db_cpu_pct": None if dbs is None else round(100 * dbs / wall),
            "other_cpu_pct": round(max(0.0, 100 * (busy - cpu - (dbs or 0.0)) / wall)),
            "cpu_ms_per_leaf": round(1000 * (cpu + (dbs or 0.0)) / max(done, 1), 2),
            "raw_ms_per_leaf": round(1000 / raw_leaf, 2),
            "signing_share": round(rate / (raw_leaf * cores), 3) if cores else None,
        }
        if stored != done + warm:
            print(f"  ! {stored} versions stored for {done + warm} issued leaves")
        print(f"  issue_from_csr: {rate:,.0f} leaves/s, {issuance['errors']} errors")
        ocsp_rows = await ocsp_inprocess(ctx, main, sizes, kit)
        return issuance, ocsp_rows
    finally:
        await ctx.aclose()


async def ocsp_inprocess(
    ctx: Any, main: MainDatabase, sizes: Sizes, kit: AnchorKit
) -> list[dict[str, Any]]:
    """Part 5a: the first answer per serial (signed, looked up), then answers from the cache."""
    ca_cert = x509.load_pem_x509_certificate(main.ca_pem.encode())
    serials = main.serials[: sizes.ocsp_serials]
    requests = [(s, ocsp_request(ca_cert, s)) for s in serials]
    check = AnswerCheck()
    bad: Counter[str] = Counter()
    rows = []
    raw_ocsp = kit.rate("ocsp_sign", sizes.anchor_seconds)
    db0, cpu0, t0 = db_cpu(main.db_pid), time.process_time(), time.perf_counter()
    for serial, der in requests:
        verdict = check(serial, await ctx.ocsp.ocsp(main.issuer_id, der))
        if verdict != "ok":
            bad[verdict] += 1
    wall, cpu, db1 = time.perf_counter() - t0, time.process_time() - cpu0, db_cpu(main.db_pid)
    rows.append(
        ocsp_row(
            f"{main.backend}: in-process, first ask per serial (signed)",
            len(requests),
            bad,
            wall,
            cpu,
            None if db0 is None or db1 is None else db1 - db0,
            fresh=check.fresh_since(0),
            anchor=raw_ocsp,
        )
    )
    mark = len(check.seen)
    bad = Counter()
    count = 0
    db0, cpu0, t0 = db_cpu(main.db_pid), time.process_time(), time.perf_counter()
    deadline = t0 + sizes.ocsp_seconds
    while time.perf_counter() < deadline:
        for serial, der in requests:
            verdict = check(serial, await ctx.ocsp.ocsp(main.issuer_id, der))
            if verdict != "ok":
                bad[verdict] += 1
        count += len(requests)
    wall, cpu, db1 = time.perf_counter() - t0, time.process_time() - cpu0, db_cpu(main.db_pid)
    rows.append(
        ocsp_row(
            f"{main.backend}: in-process, nonce-less, warmed (cache)",
            count,
            bad,
            wall,
            cpu,
            None if db0 is None or db1 is None else db1 - db0,
            fresh=check.fresh_since(mark),
            anchor=raw_ocsp,
        )
    )
    print(f"  ocsp in-process: {rows[-1]['per_s']:,.0f}/s from the cache")
    return rows


def ocsp_row(
    label: str,
    count: int,
    bad: Counter[str],
    wall: float,
    cpu: float,
    dbs: float | None,
    *,
    fresh: int,
    anchor: float,
) -> dict[str, Any]:
    rate = count / wall
    return {
        "scenario": label,
        "requests": count,
        "errors": sum(bad.values()),
        "error_kinds": dict(bad),
        "per_s": round(rate, 1),
        "client_cpu_pct": None,
        "server_cpu_pct": round(100 * cpu / wall),
        "db_cpu_pct": None if dbs is None else round(100 * dbs / wall),
        "ms_per_req": round(1000 * (cpu + (dbs or 0.0)) / count, 3),
        "fresh": fresh,
        "anchor_per_s": round(anchor),
        "vs_anchor": round(rate / anchor, 2),
        "vs_target": None,
    }


# --------------------------------------------------------------------------- load generators


@dataclass(frozen=True)
class LoadSpec:
    """What one load-generator process sends."""

    kind: str  # issue | ocsp | health | probe
    base_url: str
    client: str  # raw | httpx
    concurrency: int = 1
    rate: float = 0.0  # probe: probes per second; issue: > 0 for an open loop at this rate
    items: tuple[Any, ...] = ()  # issue: certificate ids; ocsp: (serial hex, DER request)
    path: str = ""


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    ok_all: int = 0  # including warm-up
    last_done: float = 0.0


def client_main(spec: LoadSpec, conn: Any) -> None:
    """Entry point of a load-generator process: prepare, report ready, run on `go`."""
    try:
        with asyncio.Runner(loop_factory=harness.loop_factory()) as runner:
            work = runner.run(prepare(spec))
            conn.send(("ready", None))
            command, times = conn.recv()
            if command != "go":
                return
            conn.send(("result", runner.run(drive(spec, work, *times))))
    except Exception as exc:
        with contextlib.suppress(OSError, ValueError):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))


@dataclass
class Work:
    bodies: list[tuple[str, bytes]] = field(default_factory=list)  # (path, body)
    check: AnswerCheck = field(default_factory=AnswerCheck)
    warm_bad: Counter[str] = field(default_factory=Counter)
    http: Any = None  # the warmed connections, kept for the run


def make_http(spec: LoadSpec) -> Any:
    if spec.client == "httpx":
        return harness.HttpxHttp(spec.base_url, spec.concurrency, AUTH)
    return harness.RawHttp(spec.base_url, AUTH)


async def prepare(spec: LoadSpec) -> Work:
    """Untimed: CSRs for the issuance bodies; OCSP answers for every serial, several times."""
    work = Work()
    if spec.kind == "issue":
        for cert_id in spec.items:
            # The name the certificate row declares (pending_cert_rows): a CSR may carry
            # only the names its certificate declares.
            cn = "http" + cert_id.removeprefix("mc-http-") + ".bench.example.com"
            body = json.dumps({"csr_pem": new_csr(cn)}).encode()
            work.bodies.append((f"/api/v1/certificates/{cert_id}/csr", body))
    elif spec.kind == "ocsp":
        http = work.http = make_http(spec)
        if isinstance(http, harness.RawHttp):
            await http.open(spec.concurrency)
        queue = list(spec.items) * OCSP_WARM_PASSES
        position = itertools.count()

        async def warm() -> None:
            while (i := next(position)) < len(queue):
                serial, der = queue[i]
                status, body = await http.request("POST", spec.path, der, OCSP_REQUEST_TYPE)
                verdict = work.check(serial, body) if status == 200 else f"http:{status}"
                if verdict != "ok":
                    work.warm_bad[verdict] += 1

        await asyncio.gather(*(warm() for _ in range(spec.concurrency)))
    return work


async def sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


async def drive(
    spec: LoadSpec, work: Work, t_go: float, t_measure: float, t_end: float
) -> dict[str, Any]:
    """Run from t_go to t_end; count what started in [t_measure, t_end)."""
    import httpx

    tally = Tally()
    cpu: dict[str, float] = {}

    async def marks() -> None:
        await sleep_until(t_measure)
        cpu["start"] = time.process_time()
        cpu["seen"] = len(work.check.seen)  # answers first seen after this were signed fresh
        await sleep_until(t_end)
        cpu["end"] = time.process_time()

    marker = asyncio.create_task(marks())
    errors = (*TRANSPORT_ERRORS, httpx.HTTPError, TimeoutError)
    await sleep_until(t_go)
    if spec.kind == "probe":
        await open_loop_probe(spec, tally, t_go, t_measure, t_end, errors)
    else:
        http = work.http or make_http(spec)
        if isinstance(http, harness.RawHttp) and not http.idle:
            # inside the unmeasured warm-up
            await http.open(spec.concurrency if spec.rate <= 0 else OPEN_LOOP_CONNECTIONS)
        send = sender(spec, work, http)

        async def timed(index: int, started: float) -> None:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    code = await send(index)
            except errors as exc:
                code = f"error:{type(exc).__name__}"
            done = time.monotonic()
            if code == "ok":
                tally.ok_all += 1
            if started >= t_measure:
                tally.codes[code] += 1
                tally.latencies.append(done - started)
                tally.last_done = max(tally.last_done, done)

        try:
            if spec.rate > 0:
                await open_loop(spec.rate, timed, tally, t_go, t_measure, t_end)
            else:
                counter = itertools.count(0)

                async def client() -> None:
                    while (started := time.monotonic()) < t_end:
                        await timed(next(counter), started)

                await asyncio.gather(*(client() for _ in range(spec.concurrency)))
        finally:
            await http.aclose()
    await marker
    return {
        "kind": spec.kind,
        "codes": dict(tally.codes),
        "latencies": tally.latencies,
        "ok_all": tally.ok_all,
        "last_done": tally.last_done,
        "cpu_s": cpu["end"] - cpu["start"],
        "fresh": work.check.fresh_since(int(cpu["seen"])),
        "warm_errors": dict(work.warm_bad),
    }


async def open_loop(
    rate: float,
    timed: Callable[[int, float], Coroutine[Any, Any, None]],
    tally: Tally,
    t_go: float,
    t_measure: float,
    t_end: float,
) -> None:
    """Send at a fixed schedule whatever the answers do; latency from the scheduled time."""
    pending: set[asyncio.Task[None]] = set()
    for n in itertools.count():
        due = t_go + n / rate
        if due >= t_end:
            break
        await sleep_until(due)
        if len(pending) >= MAX_IN_FLIGHT:
            if due >= t_measure:
                tally.codes["not-sent:in-flight-cap"] += 1
            continue
        task = asyncio.create_task(timed(n, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)


def sender(spec: LoadSpec, work: Work, http: Any) -> Callable[[int], Coroutine[Any, Any, str]]:
    if spec.kind == "issue":
        bodies = work.bodies

        async def issue(i: int) -> str:
            path, body = bodies[i % len(bodies)]
            status, _ = await http.request("POST", path, body)
            return "ok" if status == 201 else f"http:{status}"

        return issue
    if spec.kind == "ocsp":
        items = spec.items

        async def answer(i: int) -> str:
            serial, der = items[i % len(items)]
            status, body = await http.request("POST", spec.path, der, OCSP_REQUEST_TYPE)
            return work.check(serial, body) if status == 200 else f"http:{status}"

        return answer

    async def health(_: int) -> str:
        status, _ = await http.request("GET", "/health")
        return "ok" if status == 200 else f"http:{status}"

    return health


async def open_loop_probe(
    spec: LoadSpec,
    tally: Tally,
    t_go: float,
    t_measure: float,
    t_end: float,
    errors: tuple[type[BaseException], ...],
) -> None:
    """GET /health on a new connection every 1/rate s, timed from its scheduled time."""
    hostport = spec.base_url.removeprefix("http://")
    host, _, port = hostport.partition(":")
    pending: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                status = await harness.probe(host, int(port), "/health")
            code = "ok" if status == 200 else f"http:{status}"
        except errors as exc:
            code = f"error:{type(exc).__name__}"
        if due >= t_measure:
            tally.codes[code] += 1
            tally.latencies.append(time.monotonic() - due)

    for n in itertools.count():
        due = t_go + n / spec.rate
        if due >= t_end:
            break
        await sleep_until(due)
        task = asyncio.create_task(one(due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)


def _receive(conn: Any, deadline: float, expect: str) -> Any:
    if not conn.poll(max(0.0, deadline - time.monotonic())):
        raise RuntimeError(f"a load generator did not answer in time (waiting for {expect})")
    kind, payload = conn.recv()
    if kind == "failed":
        raise RuntimeError(f"load generator failed: {payload}")
    if kind != expect:
        raise RuntimeError(f"load generator sent {kind!r}, expected {expect!r}")
    return payload


def run_load(
    specs: Sequence[LoadSpec], roots: dict[str, int | None], warmup: float, duration: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Start one process per spec, let them prepare, run them together; CPU of the window."""
    mp = multiprocessing.get_context("spawn")
    procs: list[tuple[Any, Any]] = []
    try:
        for spec in specs:
            parent, child = mp.Pipe()
            proc = mp.Process(target=client_main, args=(spec, child), daemon=True)
            proc.start()
            procs.append((proc, parent))
        for _, conn in procs:
            _receive(conn, time.monotonic() + 600, "ready")
        t_go = time.monotonic() + 0.3
        t_measure, t_end = t_go + warmup, t_go + warmup + duration
        for _, conn in procs:
            conn.send(("go", (t_go, t_measure, t_end)))
        time.sleep(max(0.0, t_measure - time.monotonic()))
        before = harness.CpuSnapshot.take(roots)
        time.sleep(max(0.0, t_end - time.monotonic()))
        after = harness.CpuSnapshot.take(roots)
        deadline = t_end + REQUEST_TIMEOUT + 30
        results = [_receive(conn, deadline, "result") for _, conn in procs]
    finally:
        for proc, conn in procs:
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stop", None))
            harness.stop_process(proc)
    for result in results:
        result["measure_start"] = t_measure
        result["measure_end"] = t_end
    return results, harness.cpu_percent(before, after)


def summarise(
    results: Sequence[dict[str, Any]], cpu: dict[str, Any], duration: float, label: str
) -> dict[str, Any]:
    """One row from the processes of one kind; CPU of the whole window."""
    codes: Counter[str] = Counter()
    latencies: list[float] = []
    for r in results:
        codes.update(r["codes"])
        latencies.extend(r["latencies"])
    latencies.sort()
    ok = codes.get("ok", 0)
    total = sum(codes.values())
    elapsed = duration
    if results and results[0]["kind"] != "probe":
        last = max((r["last_done"] for r in results), default=0.0)
        elapsed = max(duration, last - results[0]["measure_start"])
    rate = ok / elapsed if elapsed > 0 else 0.0
    return {
        "scenario": label,
        "requests": total,
        "ok": ok,
        "errors": total - ok,
        "codes": dict(codes),
        "elapsed_s": round(elapsed, 2),
        "per_s": round(rate, 1),
        "p50_ms": harness.percentile(latencies, 50),
        "p99_ms": harness.percentile(latencies, 99),
        "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "client_cpu_pct": round(100 * sum(r["cpu_s"] for r in results) / duration),
        "server_cpu_pct": cpu.get("server_cpu_pct"),
        "server_workers_cpu_pct": cpu.get("server_children_cpu_pct"),
        "db_cpu_pct": cpu.get("db_cpu_pct"),
        "machine_cpu_pct": cpu.get("machine_cpu_pct"),
        "fresh": sum(r["fresh"] for r in results),
        "ok_all": sum(r["ok_all"] for r in results),
        "warm_errors": sum(sum(r["warm_errors"].values()) for r in results),
    }


def load_rows(
    main_specs: Sequence[LoadSpec],
    probe: LoadSpec | None,
    roots: dict[str, int | None],
    sizes: Sizes,
    label: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Run the load processes (and the prober) together; a row for each, CPU shared out."""
    specs = [*main_specs, *([probe] if probe else [])]
    results, cpu = run_load(specs, roots, sizes.warmup, sizes.duration)
    load = summarise(results[: len(main_specs)], cpu, sizes.duration, label)
    probe_row = None
    if probe is not None:
        probe_row = summarise(
            results[len(main_specs) :], cpu, sizes.duration, f"prober GET /health during: {label}"
        )
    ours = (
        (load["client_cpu_pct"] if main_specs else 0)
        + (probe_row["client_cpu_pct"] if probe_row else 0)
        + (cpu.get("server_cpu_pct") or 0.0)
        + (cpu.get("db_cpu_pct") or 0.0)
    )
    other = round(max(0.0, (cpu.get("machine_cpu_pct") or 0.0) - ours))
    for row in (load, probe_row):
        if row is None:
            continue
        row["other_cpu_pct"] = other
        served = (row["server_cpu_pct"] or 0.0) + (row["db_cpu_pct"] or 0.0)
        row["ms_per_req"] = round(10 * served / row["per_s"], 2) if row["per_s"] else None
    if probe_row is not None:
        probe_row["ms_per_req"] = None  # the server's CPU went to the load, not the probes
        if probe_row["client_cpu_pct"] is not None and load is not None:
            load["prober_cpu_pct"] = probe_row["client_cpu_pct"]
    return load, probe_row


def worker_split(rows: Sequence[dict[str, Any] | None], workers: int) -> None:
    """Each worker's CPU, e.g. `88/79`: a closed loop whose connections all landed on one
    worker shows it here."""
    for row in rows:
        if row is not None:
            shares = (row.get("server_workers_cpu_pct") or [])[:workers]
            row["workers_split"] = (
                "/".join(f"{c:.0f}" for c in shares) if workers > 1 and shares else None
            )


def split(items: Sequence[Any], parts: int) -> list[tuple[Any, ...]]:
    return [tuple(items[i::parts]) for i in range(parts)]


# --------------------------------------------------------------------------- part 3 and 5b


def http_part(
    main: MainDatabase, workdir: Path, sizes: Sizes, args: argparse.Namespace, kit: AnchorKit
) -> dict[str, Any]:
    """Parts 3 and 5b on one running server."""
    workers = 2 if main.backend == "postgresql" else 1
    server = harness.Server(
        main.url,
        workers,
        workdir,
        {
            "CERTCTL_API_KEYS_NAMED": f"bench:{API_KEY}:admin",
            "CERTCTL_CONFIG_ENCRYPTION_KEY": ENCRYPTION_KEY,
        },
    )
    try:
        server.start()
        roots = {"server": server.pid, "db": main.db_pid}
        base = server.base_url
        procs = max(1, args.client_procs)
        probe = LoadSpec("probe", base, "raw", rate=sizes.probe_rate)
        rows: list[dict[str, Any]] = []

        harness.settle(roots)
        _, idle = load_rows([], probe, roots, sizes, "idle server")
        assert idle is not None
        idle["scenario"] = f"anchor: prober GET /health, idle server, {sizes.probe_rate:g}/s"
        rows.append(idle)

        harness.settle(roots)
        health, _ = load_rows(
            [
                LoadSpec("health", base, args.client, concurrency=max(1, 32 // procs))
                for _ in range(procs)
            ],
            None,
            roots,
            sizes,
            "anchor: GET /health, closed C=32",
        )
        rows.append(health)

        harness.settle(roots)
        cert_ids = [f"mc-http-{i:06d}" for i in range(sizes.http_certs)]
        issue_specs = [
            LoadSpec(
                "issue",
                base,
                args.client,
                concurrency=max(1, sizes.http_concurrency // procs),
                items=part,
            )
            for part in split(cert_ids, procs)
        ]
        raw_leaf = kit.rate("leaf_pem_ec", sizes.anchor_seconds)
        issue, issue_probe = load_rows(
            issue_specs, probe, roots, sizes, f"POST .../csr, closed C={sizes.http_concurrency}"
        )
        stored = run_async(
            scalar(
                main.url,
                "SELECT count(*) FROM certificate_versions WHERE certificate_id LIKE 'mc-http-%'",
            )
        )
        issue["versions_stored"] = stored
        issue["anchor_per_s"] = round(raw_leaf)
        issue["x_raw"] = round(issue["per_s"] / raw_leaf, 3)
        served = ((issue["server_cpu_pct"] or 0) + (issue["db_cpu_pct"] or 0)) / 100
        issue["signing_share"] = round(issue["per_s"] / (raw_leaf * served), 3) if served else None
        if stored != issue["ok_all"]:
            print(f"  ! {stored} versions stored for {issue['ok_all']} answers 201")
        rows += [issue, issue_probe] if issue_probe else [issue]
        print(f"  HTTP issuance: {issue['per_s']:,.0f}/s, {issue['errors']} errors")

        # The same at half that rate, open loop: latency without a saturated server.
        harness.settle(roots)
        rate = max(5.0, round(issue["per_s"] / 2))
        half = [
            LoadSpec("issue", base, args.client, rate=rate / procs, items=part)
            for part in split(cert_ids[::-1], procs)
        ]
        paced, paced_probe = load_rows(half, probe, roots, sizes, f"POST .../csr at {rate:g}/s")
        rows += [paced, paced_probe] if paced_probe else [paced]

        ocsp_rows: list[dict[str, Any]] = []
        if main.serials:
            harness.settle(roots)
            ca_cert = x509.load_pem_x509_certificate(main.ca_pem.encode())
            serials = main.serials[: sizes.ocsp_serials]
            items = [(s, ocsp_request(ca_cert, s)) for s in serials]
            path = f"/.well-known/pki/ocsp/{main.issuer_id}"
            ocsp_specs = [
                LoadSpec(
                    "ocsp",
                    base,
                    args.client,
                    concurrency=max(1, sizes.ocsp_concurrency // procs),
                    items=tuple(items),
                    path=path,
                )
                for _ in range(procs)
            ]
            answers, answers_probe = load_rows(
                ocsp_specs,
                probe,
                roots,
                sizes,
                f"{main.backend}, {workers} worker(s): POST ocsp, {len(items)} serials,"
                f" closed C={sizes.ocsp_concurrency}",
            )
            raw_ocsp = kit.rate("ocsp_sign", sizes.anchor_seconds)
            answers["anchor_per_s"] = round(raw_ocsp)
            answers["vs_anchor"] = round(answers["per_s"] / raw_ocsp, 2)
            answers["vs_target"] = round(answers["per_s"] / OCSP_TARGET, 2)
            answers["vs_health"] = (
                round(answers["per_s"] / health["per_s"], 2) if health["per_s"] else None
            )
            ocsp_rows = [answers, answers_probe] if answers_probe else [answers]
            print(f"  HTTP OCSP: {answers['per_s']:,.0f}/s, {answers['errors']} errors")
        worker_split([*rows, *ocsp_rows], workers)
        errors = any(r["errors"] for r in rows + ocsp_rows)
        return {
            "workers": workers,
            "client": args.client,
            "client_procs": procs,
            "rows": rows,
            "ocsp_rows": ocsp_rows,
            "health_anchor_per_s": health["per_s"],
            "server_log_tail": server.log_tail() if errors else "",
        }
    finally:
        server.stop()


# --------------------------------------------------------------------------- part 4


def revoked_entries(count: int, now: datetime, seed: int = 20261128) -> list[Any]:
    """Revocations with random 159-bit serials over the last 90 days, mixed reasons."""
    from certctl.domain.revocation import RevocationReason
    from certctl.pki.crl import RevokedEntry

    reasons = (
        RevocationReason.UNSPECIFIED,
        RevocationReason.SUPERSEDED,
        RevocationReason.KEY_COMPROMISE,
        RevocationReason.CESSATION_OF_OPERATION,
        RevocationReason.AFFILIATION_CHANGED,
    )
    rand = random.Random(seed)
    start = now.replace(microsecond=0) - timedelta(days=90)
    seen: set[int] = set()
    entries = []
    while len(entries) < count:
        serial = rand.getrandbits(159) or 1
        if serial in seen:
            continue
        seen.add(serial)
        revoked_at = start + timedelta(seconds=rand.randrange(90 * 86400))
        entries.append(RevokedEntry(format(serial, "x"), revoked_at, reasons[len(entries) % 5]))
    return entries


OPENSSL_CONFIG = """\
[ ca ]
default_ca = bench

[ bench ]
dir = {dir}
database = $dir/index.txt
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
new_certs_dir = $dir
default_md = sha256
default_crl_days = 1
crl_extensions = crl_ext
unique_subject = no

[ crl_ext ]
authorityKeyIdentifier = keyid:always
"""


def openssl_ca_dir(directory: Path, ca: Any, entries: Sequence[Any], now: datetime) -> Path:
    """An `openssl ca` directory revoking `entries`: index.txt, config, CA cert and key."""
    from certctl.domain.revocation import RevocationReason
    from certctl.pki.keys import private_key_to_pem

    directory.mkdir()
    (directory / "ca.pem").write_text(ca.certificate_pem)
    (directory / "ca.key").write_text(private_key_to_pem(ca.key))
    (directory / "crlnumber").write_text("01\n")
    (directory / "openssl.cnf").write_text(OPENSSL_CONFIG.format(dir=directory))
    expiry = (now + timedelta(days=365)).strftime("%y%m%d%H%M%SZ")
    lines = []
    for index, entry in enumerate(entries):
        revoked = entry.revoked_at.astimezone(UTC).strftime("%y%m%d%H%M%SZ")
        if entry.reason is not RevocationReason.UNSPECIFIED:
            revoked += f",{entry.reason.value}"
        serial = entry.serial_hex.upper()
        serial = ("0" + serial) if len(serial) % 2 else serial
        lines.append(f"R\t{expiry}\t{revoked}\t{serial}\tunknown\t/CN=revoked{index:07d}\n")
    (directory / "index.txt").write_text("".join(lines))
    (directory / "index.txt.attr").write_text("unique_subject = no\n")
    return directory


def run_openssl_gencrl(directory: Path, out: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [
            "openssl",
            "ca",
            "-config",
            str(directory / "openssl.cnf"),
            "-gencrl",
            "-batch",
            "-out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=directory,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"openssl ca -gencrl failed: {done.stderr.strip()[-1500:]}")
    return took


def crl_serials(der: bytes) -> set[int]:
    return {r.serial_number for r in x509.load_der_x509_crl(der)}


def crl_vs_openssl(workdir: Path, sizes: Sizes, key_spec: str) -> dict[str, Any]:
    from certctl.pki.ca import create_root
    from certctl.pki.crl import build_crl

    now = datetime.now(UTC).replace(microsecond=0)
    ca = create_root(f"certctl bench {key_spec} CRL CA", key_spec, now=now)
    entries = revoked_entries(sizes.crl_entries, now)
    directory = openssl_ca_dir(workdir / f"openssl-ca-{key_spec}", ca, entries, now)
    ours: list[float] = []
    theirs: list[float] = []
    der = b""
    out = directory / "crl.pem"
    for run in range(sizes.crl_repeat):  # alternate, so drifting load hits both alike
        started = time.perf_counter()
        der = build_crl(
            ca,
            entries,
            crl_number=run + 1,
            this_update=now,
            next_update=now + timedelta(days=1),
        )
        ours.append(time.perf_counter() - started)
        theirs.append(run_openssl_gencrl(directory, out))
    openssl_der = x509.load_pem_x509_crl(out.read_bytes()).public_bytes(serialization.Encoding.DER)
    expected = {int(e.serial_hex, 16) for e in entries}
    same = crl_serials(der) == expected and crl_serials(openssl_der) == expected
    row = {
        "ca": key_spec,
        "entries": len(entries),
        "runs": sizes.crl_repeat,
        "build_crl_s": round(statistics.median(ours), 3),
        "build_crl_all_s": [round(t, 3) for t in ours],
        "openssl_s": round(statistics.median(theirs), 3),
        "openssl_all_s": [round(t, 3) for t in theirs],
        "ratio": round(statistics.median(ours) / statistics.median(theirs), 2),
        "der_bytes": len(der),
        "openssl_der_bytes": len(openssl_der),
        "same_serials": same,
    }
    if not same:
        print("  ! the two CRLs do not list the same serials")
    print(
        f"  {key_spec}: build_crl {row['build_crl_s']:.3f} s, openssl {row['openssl_s']:.3f} s,"
        f" ratio {row['ratio']:.2f}"
    )
    return row


async def regenerate_part(
    url: str, backend: str, db_pid: int | None, sizes: Sizes
) -> dict[str, Any]:
    """PkiService.regenerate_crl over N revocation rows, and where its time goes."""
    from certctl.bootstrap import build_context
    from certctl.domain.revocation import parse_reason
    from certctl.pki.crl import RevokedEntry, build_crl

    ctx = build_context(bench_settings(url))
    try:
        issuer_id = await create_issuer(ctx, "certctl bench CRL CA")
        now = datetime.now(UTC)
        entries = revoked_entries(sizes.crl_entries, now, seed=7)
        chain = (await ctx.pki.chain_pem(issuer_id)) * 2  # about a leaf + CA chain in size
        certs, versions, revocations = [], [], []
        for index, entry in enumerate(entries):
            cert_id = f"mc-crl-{index:07d}"
            cn = f"crl{index:07d}.bench.example.com"
            not_before = entry.revoked_at - timedelta(days=30)
            certs.append(
                (
                    cert_id,
                    cn,
                    cn,
                    json.dumps([cn]),
                    "production",
                    issuer_id,
                    "Revoked",
                    not_before + timedelta(days=90),
                    "{}",
                    "issued",
                    entry.revoked_at,
                    entry.reason.value,
                    not_before,
                    entry.revoked_at,
                )
            )
            versions.append(
                (
                    f"cv-crl-{index:07d}",
                    cert_id,
                    entry.serial_hex,
                    not_before,
                    not_before + timedelta(days=90),
                    hashlib.sha256(entry.serial_hex.encode()).hexdigest(),
                    chain,
                    f"CN={cn}",
                    "CN=certctl bench CRL CA",
                    "ECDSA",
                    256,
                    not_before,
                )
            )
            revocations.append(
                (
                    f"rv-crl-{index:07d}",
                    cert_id,
                    issuer_id,
                    entry.serial_hex,
                    entry.reason.value,
                    "bench",
                    entry.revoked_at,
                    True,
                )
            )
        started = time.perf_counter()
        await bulk_insert(
            url,
            [
                ("managed_certificates", CERT_COLUMNS, certs),
                ("certificate_versions", VERSION_COLUMNS, versions),
                ("certificate_revocations", REVOCATION_COLUMNS, revocations),
            ],
        )
        print(
            f"  inserted {len(entries):,} revoked certificates, versions and revocations"
            f" in {time.perf_counter() - started:.1f} s"
        )
        del certs, versions, revocations
        times, cpus, dbs = [], [], []
        state = None
        for _ in range(max(2, sizes.crl_repeat)):
            db0, cpu0, t0 = db_cpu(db_pid), time.process_time(), time.perf_counter()
            state = await ctx.revocation.regenerate_crl(issuer_id)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - cpu0)
            db1 = db_cpu(db_pid)
            dbs.append(None if db0 is None or db1 is None else db1 - db0)
        assert state is not None
        assert state.der_b64 is not None
        der = base64.b64decode(state.der_b64)
        listed = len(x509.load_der_x509_crl(der))
        # Where the time goes: the same steps one at a time (median of as many runs).
        steps: dict[str, list[float]] = {"fetch": [], "entries": [], "build": []}
        for _ in range(len(times)):
            t0 = time.perf_counter()
            async with ctx.runtime.db.uow() as uow:
                ca = await ctx.pki.ca(uow, issuer_id)
                revoked = await uow.pki.revoked_serials(issuer_id)
            steps["fetch"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            rebuilt = [
                RevokedEntry(r.serial_number, r.revoked_at, parse_reason(r.reason)) for r in revoked
            ]
            steps["entries"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            build_crl(
                ca, rebuilt, crl_number=1, this_update=now, next_update=now + timedelta(days=1)
            )
            steps["build"].append(time.perf_counter() - t0)
            del revoked, rebuilt
        fetch, objects, build = (statistics.median(steps[k]) for k in ("fetch", "entries", "build"))
        total = statistics.median(times)
        row = {
            "backend": backend,
            "entries": len(entries),
            "listed": listed,
            "runs": len(times),
            "regenerate_s": round(total, 3),
            "regenerate_all_s": [round(t, 3) for t in times],
            "bench_cpu_s": round(statistics.median(cpus), 3),
            "db_cpu_s": None if dbs[0] is None else round(statistics.median(dbs), 3),  # type: ignore[type-var]
            "fetch_s": round(fetch, 3),
            "entries_s": round(objects, 3),
            "build_crl_s": round(build, 3),
            "rest_s": round(max(0.0, total - fetch - objects - build), 3),
            "der_bytes": len(der),
        }
        if listed != len(entries):
            print(f"  ! the CRL lists {listed} entries, {len(entries)} expected")
        print(
            f"  regenerate_crl: {total:.3f} s (fetch {fetch:.3f}, entries {objects:.3f},"
            f" build {build:.3f})"
        )
        return row
    finally:
        await ctx.aclose()


# --------------------------------------------------------------------------- orchestration


def run_backend(
    backend: str,
    databases: Databases,
    workdir: Path,
    sizes: Sizes,
    args: argparse.Namespace,
    kit: AnchorKit,
) -> dict[str, Any]:
    print(f"\n== {backend}")
    url = databases.create(backend, "certctl_main")
    main = MainDatabase(backend, url, databases.db_pid)
    issuance, ocsp_rows = run_async(service_part(main, sizes, kit))
    report: dict[str, Any] = {"issuance": issuance, "ocsp_inprocess": ocsp_rows}
    if not args.skip_http:
        report["http"] = http_part(main, workdir, sizes, args, kit)
    crl_url = databases.create(backend, "certctl_crl")
    report["regenerate_crl"] = run_async(regenerate_part(crl_url, backend, databases.db_pid, sizes))
    report["server_version"] = (
        databases.pg_version if backend == "postgresql" else sqlite3.sqlite_version
    )
    return report


ANCHOR_COLUMNS = (
    ("anchor (one thread)", "anchor", ""),
    ("ops", "ops", ","),
    ("per s", "per_s", ",.0f"),
    ("µs/op", "us_per_op", ".1f"),
    ("SPEC C13 per s", "spec_per_s", ",.0f"),
    ("vs SPEC", "vs_spec", ".2f"),
)
ISSUANCE_COLUMNS = (
    ("backend", "backend", ""),
    ("leaves", "leaves", ","),
    ("in flight", "in_flight", ""),
    ("errors", "errors", ""),
    ("s", "seconds", ".2f"),
    ("leaves/s", "leaves_per_s", ",.0f"),
    ("anchor/s", "anchor_per_s", ",.0f"),
    ("x raw", "x_raw", ".2f"),
    ("bench CPU %", "bench_cpu_pct", ""),
    ("db CPU %", "db_cpu_pct", ""),
    ("other %", "other_cpu_pct", ""),
    ("CPU ms/leaf", "cpu_ms_per_leaf", ".2f"),
    ("raw ms/leaf", "raw_ms_per_leaf", ".2f"),
    ("signing share", "signing_share", ".2f"),
)
HTTP_COLUMNS = (
    ("scenario", "scenario", ""),
    ("requests", "requests", ","),
    ("errors", "errors", ""),
    ("per s", "per_s", ",.0f"),
    ("p50 ms", "p50_ms", ".1f"),
    ("p99 ms", "p99_ms", ".1f"),
    ("client", "client_cpu_pct", ".0f"),
    ("server", "server_cpu_pct", ".0f"),
    ("workers %", "workers_split", ""),
    ("db", "db_cpu_pct", ".0f"),
    ("other", "other_cpu_pct", ".0f"),
    ("ms/req", "ms_per_req", ".2f"),
)
CRL_COLUMNS = (
    ("CA key", "ca", ""),
    ("entries", "entries", ","),
    ("build_crl s", "build_crl_s", ".3f"),
    ("openssl ca -gencrl s", "openssl_s", ".3f"),
    ("ratio", "ratio", ".2f"),
    ("DER bytes", "der_bytes", ","),
    ("openssl DER bytes", "openssl_der_bytes", ","),
)
REGENERATE_COLUMNS = (
    ("backend", "backend", ""),
    ("entries", "entries", ","),
    ("regenerate_crl s", "regenerate_s", ".3f"),
    ("vs openssl", "vs_openssl", ".2f"),
    ("fetch s", "fetch_s", ".3f"),
    ("entries s", "entries_s", ".3f"),
    ("build_crl s", "build_crl_s", ".3f"),
    ("rest s", "rest_s", ".3f"),
    ("bench CPU s", "bench_cpu_s", ".3f"),
    ("db CPU s", "db_cpu_s", ".3f"),
)
OCSP_COLUMNS = (
    ("scenario", "scenario", ""),
    ("requests", "requests", ","),
    ("errors", "errors", ""),
    ("per s", "per_s", ",.0f"),
    ("p50 ms", "p50_ms", ".1f"),
    ("p99 ms", "p99_ms", ".1f"),
    ("client", "client_cpu_pct", ".0f"),
    ("server", "server_cpu_pct", ".0f"),
    ("workers %", "workers_split", ""),
    ("db", "db_cpu_pct", ".0f"),
    ("other", "other_cpu_pct", ".0f"),
    ("ms/req", "ms_per_req", ".3f"),
    ("fresh", "fresh", ","),
    ("sign anchor/s", "anchor_per_s", ",.0f"),
    ("vs sign anchor", "vs_anchor", ".2f"),
    ("vs 3,000/s", "vs_target", ".2f"),
)


def verdict(value: float | None, op: str, bound: float) -> str:
    if value is None:
        return "not measured"
    met = value >= bound if op == ">=" else value <= bound
    return "met" if met else "NOT met"


def print_report(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The five tables and the C13 verdicts; returns the verdicts."""
    targets: list[dict[str, Any]] = []
    anchor_rows = report["anchors"]
    rates = {r["key"]: r["per_s"] for r in anchor_rows}
    background = report["background_cpu_pct"]
    print(f"\nPart 1 - anchors, one thread, no database (other work: {background['anchors']} %)")
    print(harness.markdown_table(ANCHOR_COLUMNS, anchor_rows))

    backends = report["backends"]
    print("\nPart 2 - ctx.issuance.issue_from_csr in-process with its database write")
    print(harness.markdown_table(ISSUANCE_COLUMNS, [b["issuance"] for b in backends.values()]))
    print(
        "  x raw = leaves/s / one-core PEM-leaf anchor; signing share = leaves/s /"
        " (anchor x cores used by this process and the database)"
    )

    http_rows = []
    for name, b in backends.items():
        if "http" not in b:
            continue
        for row in b["http"]["rows"]:
            http_rows.append(
                {**row, "scenario": f"{name}, {b['http']['workers']}w: {row['scenario']}"}
            )
    if http_rows:
        print("\nPart 3 - POST /api/v1/certificates/{id}/csr through certctl serve")
        print(harness.markdown_table(HTTP_COLUMNS, http_rows))
        for name, b in backends.items():
            if "http" not in b:
                continue
            rows = b["http"]["rows"]
            issue = next(r for r in rows if r["scenario"].startswith("POST"))
            probe = next((r for r in rows if r["scenario"].startswith("prober")), None)
            print(
                f"  {name}: client {b['http']['client']} x {b['http']['client_procs']} process(es),"
                f" {issue['client_cpu_pct']} % CPU;"
                f" {issue['ok_all']:,} answers 201 incl. warm-up, {issue['versions_stored']:,}"
                f" versions stored; x raw {issue['x_raw']:.2f}, signing share"
                f" {issue['signing_share']}"
            )
            workers = b["http"]["workers"]
            applies = name == "postgresql" and workers == 2
            targets.append(
                {
                    "target": "issuance through the API >= 500/s on 2 cores",
                    "backend": name,
                    "measured": issue["per_s"],
                    "ratio": round(issue["per_s"] / ISSUANCE_TARGET, 2),
                    "errors": issue["errors"],
                    "verdict": verdict(issue["per_s"], ">=", ISSUANCE_TARGET)
                    if not issue["errors"]
                    else "NOT met (errors)",
                    "applies": applies,
                }
            )
            if probe is not None:
                targets.append(
                    {
                        "target": "GET /health p99 <= 50 ms during an issuance burst",
                        "backend": name,
                        "measured": probe["p99_ms"],
                        "ratio": round(probe["p99_ms"] / HEALTH_P99_TARGET_MS, 2)
                        if probe["p99_ms"]
                        else None,
                        "errors": probe["errors"],
                        "verdict": verdict(probe["p99_ms"], "<=", HEALTH_P99_TARGET_MS)
                        if not probe["errors"]
                        else "NOT met (errors)",
                        "applies": applies,
                    }
                )

    print(
        "\nPart 4 - DER CRL: build_crl vs openssl ca -gencrl (median of runs), regenerate_crl"
        f" (other work before: {background['crl']} %)"
    )
    print(harness.markdown_table(CRL_COLUMNS, report["crl"]))
    ec_row = report["crl"][0]
    targets.append(
        {
            "target": "DER CRL within 1.2x of openssl ca -gencrl",
            "backend": "-",
            "measured": ec_row["ratio"],
            "ratio": round(ec_row["ratio"] / CRL_RATIO_TARGET, 2),
            "errors": 0 if ec_row["same_serials"] else 1,
            "verdict": verdict(ec_row["ratio"], "<=", CRL_RATIO_TARGET),
            "applies": ec_row["entries"] == 100_000,
        }
    )
    regen = []
    for b in backends.values():
        row = dict(b["regenerate_crl"])
        row["vs_openssl"] = round(row["regenerate_s"] / ec_row["openssl_s"], 2)
        regen.append(row)
    print(harness.markdown_table(REGENERATE_COLUMNS, regen))

    print("\nPart 5 - OCSP from the pre-signed cache")
    ocsp_rows: list[dict[str, Any]] = [
        {
            "scenario": "anchor: build_response + sign, one thread",
            "requests": next(r["ops"] for r in anchor_rows if r["key"] == "ocsp_sign"),
            "errors": 0,
            "per_s": rates["ocsp_sign"],
            "anchor_per_s": rates["ocsp_sign"],
            "vs_anchor": 1.0,
        }
    ]
    for name, b in backends.items():
        ocsp_rows += b["ocsp_inprocess"]
        if "http" in b:
            for row in b["http"]["ocsp_rows"]:
                extra = {}
                if row["scenario"].startswith("prober"):
                    extra = {
                        "vs_anchor": None,
                        "fresh": None,
                        "scenario": f"{name}: {row['scenario']}",
                    }
                ocsp_rows.append({**row, **extra})
            answers = next(iter(b["http"]["ocsp_rows"]), None)
            if answers is not None:
                targets.append(
                    {
                        "target": "OCSP >= 3,000 responses/s from the cache, 2 workers",
                        "backend": name,
                        "measured": answers["per_s"],
                        "ratio": answers["vs_target"],
                        "errors": answers["errors"],
                        "verdict": verdict(answers["per_s"], ">=", OCSP_TARGET)
                        if not answers["errors"]
                        else "NOT met (errors)",
                        "applies": name == "postgresql" and b["http"]["workers"] == 2,
                    }
                )
                print(
                    f"  {name}: OCSP over HTTP / closed-loop GET /health on the same server:"
                    f" {answers['vs_health']}"
                )
    print(harness.markdown_table(OCSP_COLUMNS, ocsp_rows))

    print("\nSPEC C13 targets")
    for t in targets:
        scope = "" if t["applies"] else " (reference only: not the target's conditions)"
        errors = f", {t['errors']} errors" if t["errors"] else ""
        print(
            f"  {t['target']} [{t['backend']}]: measured {t['measured']}"
            f" (ratio to the bound {t['ratio']}){errors} -> {t['verdict']}{scope}"
        )
    for name, b in backends.items():
        tail = b.get("http", {}).get("server_log_tail")
        if tail:
            print(f"\n{name} server log (tail):\n{tail}")
    return targets


def resolve_sizes(args: argparse.Namespace) -> Sizes:
    base = QUICK if args.quick else FULL
    pick = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in base.items()}
    return Sizes(
        concurrency=args.concurrency,
        http_concurrency=args.http_concurrency,
        ocsp_concurrency=args.ocsp_concurrency,
        probe_rate=args.probe_rate,
        **pick,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="CI size: 300 leaves, 10,000 CRL entries, 2 s per HTTP scenario (about 2 minutes)",
    )
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--skip-http", action="store_true", help="no server: parts 1, 2, 4, 5a only")
    p.add_argument("--leaves", type=int, help="part 2: certificates issued per backend (10,000)")
    p.add_argument("--concurrency", type=int, default=8, help="part 2: issuances in flight (8)")
    p.add_argument(
        "--http-certs", type=int, help="part 3: certificates the load generators use (15,000)"
    )
    p.add_argument(
        "--http-concurrency", type=int, default=16, help="part 3: requests in flight (16)"
    )
    p.add_argument(
        "--ocsp-concurrency", type=int, default=32, help="part 5b: requests in flight (32)"
    )
    p.add_argument("--duration", type=float, help="measured seconds per HTTP scenario (10)")
    p.add_argument("--warmup", type=float, help="unmeasured seconds per HTTP scenario (1)")
    p.add_argument("--crl-entries", type=int, help="part 4: revoked entries (100,000)")
    p.add_argument("--crl-repeat", type=int, help="part 4: runs of each CRL build (3)")
    p.add_argument("--anchor-seconds", type=float, help="part 1: seconds per anchor (2)")
    p.add_argument("--ocsp-serials", type=int, help="part 5: distinct serials asked about (300)")
    p.add_argument("--ocsp-seconds", type=float, help="part 5a: seconds of cached answers (3)")
    p.add_argument(
        "--probe-rate", type=float, default=50.0, help="GET /health probes per second (50)"
    )
    p.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load-generator HTTP client: raw asyncio HTTP/1.1 (cheap, default) or httpx",
    )
    p.add_argument(
        "--client-procs", type=int, default=1, help="load-generator processes per scenario (1)"
    )
    p.add_argument("--json", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = p.parse_args(argv)
    positive = [
        args.leaves,
        args.http_certs,
        args.crl_entries,
        args.crl_repeat,
        args.ocsp_serials,
        args.concurrency,
        args.http_concurrency,
        args.ocsp_concurrency,
        args.client_procs,
    ]
    if any(v is not None and v < 1 for v in positive):
        p.error("counts, concurrencies and --client-procs must be positive")
    timed = [args.duration, args.anchor_seconds, args.ocsp_seconds, args.probe_rate]
    if any(v is not None and v <= 0 for v in timed) or (args.warmup or 0) < 0:
        p.error("durations and rates must be positive")
    return args


def _cleanup_only() -> None:
    """From here on cleanup must finish: a second Ctrl-C or SIGTERM would leave processes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _terminate(signum: int, _frame: Any) -> None:
    _cleanup_only()
    raise SystemExit(128 + signum)  # unwinds the ExitStack: server, cluster, temp dirs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    sizes = resolve_sizes(args)
    info = harness.machine()
    started = datetime.now(UTC)
    print(
        f"machine: {info['nproc']} cores, {info['cpu_model']}, {info['mem_total_gib']} GiB,"
        f" Python {info['python']}, cryptography {info['cryptography']}, {info['openssl_cli']}"
    )
    print(f"background CPU before the run: {harness.background_load():.0f} % of one core")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    report: dict[str, Any] = {
        "benchmark": "pki",
        "started_at": started.isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "revision": harness.revision(),
        "machine": info,
        "sizes": sizes.__dict__,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    with contextlib.ExitStack() as stack:
        try:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="certctl-pki-")))
            print("\n== part 1: anchors")
            report["background_cpu_pct"] = {"anchors": harness.background_load()}
            kit = AnchorKit()
            report["anchors"] = kit.table(sizes.anchor_seconds)
            print("\n== part 4: build_crl vs openssl ca -gencrl")
            report["background_cpu_pct"]["crl"] = harness.background_load()
            report["crl"] = [
                crl_vs_openssl(workdir, sizes, "ECDSA-P256"),
                crl_vs_openssl(workdir, sizes, "RSA-2048"),
            ]
            databases = Databases(stack, workdir)
            report["backends"] = {
                b: run_backend(b, databases, workdir, sizes, args, kit) for b in backends
            }
        finally:
            _cleanup_only()
            harness.Server.stop_all()  # before the cluster they use goes away
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["targets"] = print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    took = datetime.now(UTC) - started
    print(f"\nwrote {args.json} ({took.total_seconds():.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
