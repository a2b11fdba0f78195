"""Part 4 of bench/pki.py: build_crl against openssl ca -gencrl, and regenerate_crl.

Run alone, it is part 4 only: `openssl ca -gencrl` and `build_crl` over the same N entries
(EC P-256 CA), then `regenerate_crl` end to end over N revocation rows, with its ratio to
openssl measured in the same run:

    .venv/bin/python bench/pki_crl.py --entries 10000 --backend sqlite      # small
    .venv/bin/python bench/pki_crl.py --backend postgresql                  # 100,000
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pki_common import (
    CERT_COLUMNS,
    FULL,
    REVOCATION_COLUMNS,
    VERSION_COLUMNS,
    Databases,
    Sizes,
    bench_settings,
    bulk_insert,
    create_issuer,
    db_cpu,
    run_async,
)

CRL_RATIO = 1.2  # SPEC C13: within 1.2x of openssl ca -gencrl on the same entries
CRL_RESULTS = Path(__file__).resolve().parent / "results" / "pki_crl.json"

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
    from certctl.domain.crl_entry import crl_entry_der
    from certctl.pki.crl_encoded import sign_encoded_crl
    from certctl.services.revocation import SHORT_LIVED

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
                    # as the repository records it, encoded once (domain.crl_entry)
                    crl_entry_der(entry.serial_hex, entry.revoked_at, entry.reason.value),
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
        # Where the time goes: the same steps one at a time (median of as many runs). The
        # entries are stored encoded, so the read returns them ready: nothing is rebuilt.
        steps: dict[str, list[float]] = {"fetch": [], "build": []}
        for _ in range(len(times)):
            t0 = time.perf_counter()
            async with ctx.runtime.db.uow() as uow:
                ca = await ctx.pki.ca(uow, issuer_id)
                encoded = await uow.pki.crl_entries(issuer_id, min_lifetime=SHORT_LIVED)
            steps["fetch"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sign_encoded_crl(
                ca, encoded.der, crl_number=1, this_update=now, next_update=now + timedelta(days=1)
            )
            steps["build"].append(time.perf_counter() - t0)
            del encoded
        fetch, build = (statistics.median(steps[k]) for k in ("fetch", "build"))
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
            "build_crl_s": round(build, 3),
            "rest_s": round(max(0.0, total - fetch - build), 3),
            "der_bytes": len(der),
        }
        if listed != len(entries):
            print(f"  ! the CRL lists {listed} entries, {len(entries)} expected")
        print(f"  regenerate_crl: {total:.3f} s (fetch {fetch:.3f}, build {build:.3f})")
        return row
    finally:
        await ctx.aclose()


def main(argv: list[str] | None = None) -> int:
    """Part 4 alone: openssl, build_crl and regenerate_crl over the same entries."""
    import harness
    from pki_report import CRL_COLUMNS, REGENERATE_COLUMNS

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--entries", type=int, default=100_000, help="revoked entries (100,000)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each build (3)")
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--json", type=Path, default=CRL_RESULTS, help=f"results ({CRL_RESULTS})")
    args = p.parse_args(argv)
    if args.entries < 1 or args.repeat < 1:
        p.error("--entries and --repeat must be positive")
    sizes = Sizes(
        **{**FULL, "crl_entries": args.entries, "crl_repeat": args.repeat},
        concurrency=1,
        http_concurrency=1,
        ocsp_concurrency=1,
        probe_rate=1.0,
    )
    report: dict[str, Any] = {
        "benchmark": "pki_crl",
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "revision": harness.revision(),
        "machine": harness.machine(),
        "background_cpu_pct": harness.background_load(),
    }
    print(f"background CPU before the run: {report['background_cpu_pct']:.0f} % of one core")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="certctl-crl-")))
        anchor = crl_vs_openssl(workdir, sizes, "ECDSA-P256")
        databases = Databases(stack, workdir)
        rows = []
        for backend in backends:
            url = databases.create(backend, "certctl_crl")
            row = run_async(regenerate_part(url, backend, databases.db_pid, sizes))
            rows.append({**row, "vs_openssl": round(row["regenerate_s"] / anchor["openssl_s"], 2)})
    report |= {"crl": anchor, "regenerate_crl": rows}
    print(harness.markdown_table(CRL_COLUMNS, [anchor]))
    print(harness.markdown_table(REGENERATE_COLUMNS, rows))
    for row in rows:
        verdict = "met" if row["vs_openssl"] <= CRL_RATIO else "NOT met"
        print(
            f"  C13 regenerate_crl within {CRL_RATIO}x of openssl ca -gencrl ({row['backend']},"
            f" {row['entries']:,} entries): {row['vs_openssl']:.2f}x -> {verdict}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
