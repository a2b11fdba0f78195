"""Part 1 of bench/pki.py: the one-thread anchors (signatures, leaves, OCSP answers)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from pki_common import SPEC_REFERENCE, default_profile, new_csr, ocsp_request

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
