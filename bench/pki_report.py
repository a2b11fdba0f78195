"""The printed tables of bench/pki.py and the SPEC C13 verdicts."""

from __future__ import annotations

from typing import Any

import harness
from pki_common import CRL_RATIO_TARGET, HEALTH_P99_TARGET_MS, ISSUANCE_TARGET, OCSP_TARGET

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
