"""Revocation covers every unexpired version; CRL publication failures are kept and reported."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.services.revocation import CRLPublishFailed

HOST = "web.example.com"
END = "-----END CERTIFICATE-----\n"


def openssl(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run openssl in `cwd`, capturing text output."""
    return subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=check, timeout=60
    )


@pytest.fixture
def now(clock: FrozenClock) -> datetime:
    """Real time: openssl checks CRL and OCSP windows against the wall clock."""
    clock.set(datetime.now(UTC).replace(microsecond=0))
    return clock.now()


async def _issued_twice(api: httpx.AsyncClient, tmp: Path) -> tuple[str, str, list[str]]:
    """A local CA and a certificate issued twice; (issuer id, cert id, serials old first)."""
    issuer = await api.post(
        "/api/v1/issuers", json={"name": "Local", "type": "GenericCA", "config": {}}
    )
    issuer_id = str(issuer.json()["id"])
    body = {"name": "web", "common_name": HOST, "sans": [HOST], "issuer_id": issuer_id}
    cert_id = str((await api.post("/api/v1/certificates", json=body)).json()["id"])
    serials = []
    for name in ("old", "new"):
        openssl(
            "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={HOST}",
            "-addext", f"subjectAltName=DNS:{HOST}",
            cwd=tmp,
        )  # fmt: skip
        csr = (tmp / f"{name}.csr").read_text()
        issued = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr})
        assert issued.status_code == 201, issued.text
        version = issued.json()["version"]
        serials.append(version["serial_number"])
        pem = await api.get(f"/api/v1/certificates/{cert_id}/versions/{version['id']}/pem")
        (tmp / f"{name}.pem").write_text(pem.text.split(END)[0] + END)
    (tmp / "ca.pem").write_text((await api.get(f"/.well-known/pki/ca/{issuer_id}")).text)
    return issuer_id, cert_id, serials


async def _ocsp_status(api: httpx.AsyncClient, tmp: Path, issuer_id: str, leaf: str) -> str:
    openssl("ocsp", "-issuer", "ca.pem", "-cert", leaf, "-reqout", "req.der", cwd=tmp)
    response = await api.post(
        f"/.well-known/pki/ocsp/{issuer_id}",
        content=(tmp / "req.der").read_bytes(),
        headers={"Content-Type": "application/ocsp-request"},
    )
    (tmp / "resp.der").write_bytes(response.content)
    result = openssl(
        "ocsp", "-reqin", "req.der", "-respin", "resp.der", "-CAfile", "ca.pem", "-resp_text",
        cwd=tmp,
    )  # fmt: skip
    assert "Response verify OK" in result.stderr, result.stderr
    return result.stdout.split("Cert Status: ")[1].split("\n")[0]


async def test_revoking_after_a_renewal_revokes_the_older_version_too(
    api: httpx.AsyncClient, now: datetime, tmp_path: Path
) -> None:
    """Both serials land on the CRL; openssl -crl_check and OCSP call the old leaf revoked."""
    issuer_id, cert_id, serials = await _issued_twice(api, tmp_path)
    assert await _ocsp_status(api, tmp_path, issuer_id, "old.pem") == "good"
    revoked = await api.post(
        f"/api/v1/certificates/{cert_id}/revoke", json={"reason": "keyCompromise"}
    )
    assert revoked.status_code == 200, revoked.text
    listing = (await api.get("/api/v1/crl")).json()
    assert sorted(e["serial_number"] for e in listing["entries"]) == sorted(serials)
    crl = await api.get(f"/.well-known/pki/crl/{issuer_id}")
    (tmp_path / "crl.der").write_bytes(crl.content)
    openssl("crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem", cwd=tmp_path)
    for leaf in ("old.pem", "new.pem"):
        result = openssl(
            "verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", leaf,
            cwd=tmp_path, check=False,
        )  # fmt: skip
        assert (result.returncode, "certificate revoked" in result.stdout + result.stderr) == (
            2,
            True,
        )
    assert await _ocsp_status(api, tmp_path, issuer_id, "old.pem") == "revoked"
    assert await _ocsp_status(api, tmp_path, issuer_id, "new.pem") == "revoked"


async def test_revoking_twice_is_a_conflict_and_bulk_counts_it_skipped(
    api: httpx.AsyncClient, now: datetime, tmp_path: Path
) -> None:
    """A second revoke is 409; bulk revocation of the same certificate skips it."""
    _, cert_id, _ = await _issued_twice(api, tmp_path)
    url = f"/api/v1/certificates/{cert_id}/revoke"
    assert (await api.post(url, json={"reason": "superseded"})).status_code == 200
    again = await api.post(url, json={"reason": "superseded"})
    assert (again.status_code, again.json()["title"]) == (409, "Conflict")
    bulk = await api.post(
        "/api/v1/certificates/bulk-revoke",
        json={"certificate_ids": [cert_id], "reason": "superseded"},
    )
    assert bulk.status_code == 200, bulk.text
    assert (bulk.json()["total_skipped"], bulk.json()["total_failed"]) == (1, 0)


async def _unpublished(ctx: AppContext, cert_id: str) -> list[bool]:
    async with ctx.runtime.db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT issuer_notified FROM certificate_revocations "
                "WHERE certificate_id = :id ORDER BY serial_number"
            ),
            {"id": cert_id},
        )
        return [bool(r[0]) for r in rows]


async def _crl_state(ctx: AppContext, issuer_id: str, *, remove: bool) -> None:
    async with ctx.runtime.db.engine.begin() as conn:
        if remove:
            await conn.execute(
                text("DELETE FROM crl_state WHERE issuer_id = :id"), {"id": issuer_id}
            )
        else:
            await conn.execute(
                text("INSERT INTO crl_state (issuer_id, crl_number) VALUES (:id, 7)"),
                {"id": issuer_id},
            )


async def test_crl_publish_failure_is_logged_kept_and_retried_by_the_loop(
    api: httpx.AsyncClient, ctx: AppContext, now: datetime, tmp_path: Path
) -> None:
    """Revocation stands; the error is logged with detail; the loop fails, then publishes."""
    issuer_id, cert_id, _ = await _issued_twice(api, tmp_path)
    await _crl_state(ctx, issuer_id, remove=True)
    with capture_logs() as logs:
        revoked = await api.post(f"/api/v1/certificates/{cert_id}/revoke", json={"reason": ""})
    assert revoked.status_code == 200, revoked.text
    failures = [e for e in logs if e["event"] == "pki.crl_after_revocation_failed"]
    assert [(e["log_level"], e["issuer_id"], e["error"]) for e in failures] == [
        ("error", issuer_id, f"NotFound: crl {issuer_id!r} not found")
    ]
    assert await _unpublished(ctx, cert_id) == [False, False]
    with pytest.raises(CRLPublishFailed) as caught:
        await ctx.revocation.regenerate_all()
    assert caught.value.summary["failed"] == {
        issuer_id: f"NotFound: crl {issuer_id!r} not found (2 revocations unpublished)"
    }
    loop = await api.post("/api/v1/admin/loops/crl/run")
    assert (loop.status_code, loop.json()["detail"]) == (
        500,
        f"CRL not published for 1 CA(s): {issuer_id}: NotFound: crl {issuer_id!r} not found "
        "(2 revocations unpublished)",
    )
    states = {s["name"]: s for s in (await api.get("/api/v1/admin/loops")).json()}
    assert states["crl"]["last_outcome"] == "error"
    await _crl_state(ctx, issuer_id, remove=False)
    result = await ctx.revocation.regenerate_all()
    assert (result["published_revocations"], result["crl_numbers"]) == (2, {issuer_id: 8})
    assert await _unpublished(ctx, cert_id) == [True, True]
