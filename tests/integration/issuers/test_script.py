"""The script issuer: a small shell script signing with `openssl x509 -req`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.jobs import JobStatus
from certctl.services.jobs import JobService

from .conftest import certificate_on, renew

SIGNER = """\
#!/bin/sh
set -e
dir=$(dirname "$0")
csr=$(mktemp)
cert=$(mktemp)
cat > "$csr"
env | grep '^CERTCTL_' | sort > "$dir/env.txt"
openssl x509 -req -in "$csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -days "$CERTCTL_TTL_DAYS" \\
  -copy_extensions copyall -out "$cert" 2>"$dir/openssl.err"
cat "$cert" "$dir/ca.pem"
rm -f "$csr" "$cert"
"""


def _script(workdir: Path, name: str, body: str) -> Path:
    path = workdir / name
    path.write_text(body)
    path.chmod(0o755)
    return path


def _ca(workdir: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(workdir / "ca.key"), "-out", str(workdir / "ca.pem"),
            "-days", "30", "-subj", "/CN=Script Test CA",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _verify(ca: Path, leaf: Path) -> str:
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca), str(leaf)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


async def _issuer(api: httpx.AsyncClient, **config: Any) -> httpx.Response:
    return await api.post(
        "/api/v1/issuers", json={"name": "script", "type": "OpenSSL", "config": config}
    )


async def test_the_script_signs_and_the_chain_verifies(
    api: httpx.AsyncClient, ctx: AppContext, processor: JobService, tmp_path: Path
) -> None:
    """The CSR goes in on stdin, the facts as variables; the printed chain is stored."""
    _ca(tmp_path)
    signer = _script(tmp_path, "sign.sh", SIGNER)
    created = await _issuer(api, script_path=str(signer), timeout_seconds=30)
    assert created.status_code == 201, created.text
    cert_id = await certificate_on(api, created.json()["id"])
    job_id = await renew(api, cert_id)
    summary = await processor.process_due()
    assert (summary.completed, summary.failed) == (1, 0)
    assert (await ctx.jobs.get(SYSTEM_CALLER, job_id)).status is JobStatus.COMPLETED
    [version] = (await api.get(f"/api/v1/certificates/{cert_id}/versions")).json()["data"]
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(
        version["pem_chain"].split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    )
    assert _verify(tmp_path / "ca.pem", leaf) == f"{leaf}: OK"
    assert version["issuer_dn"] == "CN=Script Test CA"
    env = dict(line.split("=", 1) for line in (tmp_path / "env.txt").read_text().splitlines())
    assert env["CERTCTL_CERTIFICATE_ID"] == cert_id
    assert env["CERTCTL_COMMON_NAME"] == "web.example.com"
    assert env["CERTCTL_SANS"] == "web.example.com"
    assert env["CERTCTL_TTL_DAYS"] == "90"


async def test_a_failing_script_fails_the_job_with_its_status_and_stderr(
    api: httpx.AsyncClient, ctx: AppContext, processor: JobService, tmp_path: Path
) -> None:
    """Exit status 2 and what the script wrote to stderr are the job's error; no retry."""
    script = _script(
        tmp_path, "refuse.sh", "#!/bin/sh\necho 'policy: CN not allowed' >&2\nexit 2\n"
    )
    created = await _issuer(api, script_path=str(script))
    job_id = await renew(api, await certificate_on(api, created.json()["id"]))
    summary = await processor.process_due()
    assert (summary.failed, summary.retried) == (1, 0)
    job = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert job.last_error == "the signing script exited with status 2: policy: CN not allowed"


async def test_a_script_over_its_timeout_is_killed_and_retried(
    api: httpx.AsyncClient, ctx: AppContext, processor: JobService, tmp_path: Path
) -> None:
    """A script still running at its timeout is killed; the attempt is retried later."""
    script = _script(tmp_path, "slow.sh", "#!/bin/sh\nexec sleep 30\n")
    created = await _issuer(api, script_path=str(script), timeout_seconds=1)
    job_id = await renew(api, await certificate_on(api, created.json()["id"]))
    summary = await processor.process_due()
    assert (summary.failed, summary.retried) == (0, 1)
    job = await ctx.jobs.get(SYSTEM_CALLER, job_id)
    assert (job.status, job.last_error) == (
        JobStatus.PENDING,
        "the signing script did not finish within 1 s",
    )


async def test_a_missing_script_cannot_be_configured(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Fail early: an issuer whose program does not exist is refused when created."""
    response = await _issuer(api, script_path=str(tmp_path / "absent.sh"))
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == (
        f"the issuer's CA cannot be used: {tmp_path / 'absent.sh'} does not exist or is not "
        "executable"
    )
