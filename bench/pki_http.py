"""Parts 3 and 5b of bench/pki.py: issuance and OCSP through the real server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cryptography import x509

import harness
from pki_anchors import AnchorKit
from pki_common import API_KEY, ENCRYPTION_KEY, OCSP_TARGET, Sizes, ocsp_request, run_async
from pki_load import LoadSpec, load_rows, split, worker_split
from pki_service import MainDatabase

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
            harness.scalar(
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
