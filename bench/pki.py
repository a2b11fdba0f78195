"""Local CA performance against SPEC C13: issuance, CRLs and OCSP, each against an anchor.

    .venv/bin/python bench/pki.py --quick                       # small size, both backends
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
HTTP/1.1 client of bench/harness/http.py (about 0.05 ms of CPU per request); `--client httpx`
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
import contextlib
import json
import signal
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
from pki_anchors import AnchorKit
from pki_common import FULL, QUICK, RESULTS, Databases, Sizes, run_async
from pki_crl import crl_vs_openssl, regenerate_part
from pki_http import http_part
from pki_report import print_report
from pki_service import MainDatabase, service_part

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
        help="small size: 300 leaves, 10,000 CRL entries, 2 s per HTTP scenario (about 2 minutes)",
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
