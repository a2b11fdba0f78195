"""Parts 2 and 5a of bench/pki.py: issue_from_csr and OCSP in this process."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

import harness
from pki_anchors import AnchorKit
from pki_common import (
    CERT_COLUMNS,
    AnswerCheck,
    Sizes,
    bench_settings,
    bulk_insert,
    create_issuer,
    db_cpu,
    new_csr,
    ocsp_request,
    pending_cert_rows,
)

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
        stored = await harness.scalar(
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
