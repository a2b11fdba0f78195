"""`certctl certs import DIR` over certbot and acme.sh trees: exact counts, keys never read."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from certctl.pki.mint import make_ca, mint_leaf
from certctl.testing.clock import TEST_EPOCH

from .conftest import Cli

# A private key file that would make the import fail loudly if it were ever read: the
# server refuses any PEM holding a private key.
KEY = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"


def _leaf_and_ca(cn: str) -> tuple[str, str]:
    ca = make_ca("Test Intermediate", TEST_EPOCH)
    not_after = TEST_EPOCH + timedelta(days=60)
    both = mint_leaf(
        ca,
        common_name=cn,
        sans=[cn],
        not_before=not_after - timedelta(days=90),
        not_after=not_after,
    )
    return both.removesuffix(ca.pem), ca.pem


def _write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def certbot_tree(root: Path) -> Path:
    """/etc/letsencrypt as certbot leaves it: live/, archive/, accounts/, renewal/."""
    base = root / "letsencrypt"
    leaf, chain = _leaf_and_ca("web.example.com")
    _write(
        base / "live" / "web.example.com",
        {"cert.pem": leaf, "chain.pem": chain, "fullchain.pem": leaf + chain, "privkey.pem": KEY},
    )
    leaf, chain = _leaf_and_ca("api.example.com")
    _write(
        base / "live" / "api.example.com",
        {"cert.pem": leaf, "chain.pem": chain, "privkey.pem": KEY},
    )
    _write(base / "live", {"README": "This directory contains your keys and certificates."})
    _write(base / "archive" / "web.example.com", {"cert1.pem": leaf, "privkey1.pem": KEY})
    _write(
        base / "accounts" / "acme-v02.api.letsencrypt.org" / "directory", {"private_key.json": "{}"}
    )
    _write(base / "renewal", {"web.example.com.conf": "version = 2.11.0\n"})
    return base


def acme_sh_tree(root: Path) -> Path:
    """~/.acme.sh: one folder per domain (ECDSA ones end in _ecc), plus a loose intermediate."""
    base = root / "acme.sh"
    leaf, ca = _leaf_and_ca("vpn.example.com")
    _write(
        base / "vpn.example.com",
        {
            "vpn.example.com.cer": leaf,
            "ca.cer": ca,
            "fullchain.cer": leaf + ca,
            "vpn.example.com.key": KEY,
            "vpn.example.com.csr": "-----BEGIN CERTIFICATE REQUEST-----\n",
            "vpn.example.com.conf": "Le_Domain='vpn.example.com'\n",
        },
    )
    leaf, ca = _leaf_and_ca("mail.example.com")
    _write(
        base / "mail.example.com_ecc",
        {"mail.example.com.cer": leaf, "ca.cer": ca, "mail.example.com.key": KEY},
    )
    _write(base, {"intermediate.pem": ca, "account.conf": "ACCOUNT_EMAIL='ops@example.com'\n"})
    return base


def _names(entries: list[dict[str, str]], root: Path) -> list[str]:
    return sorted(str(Path(e["file"]).relative_to(root)) for e in entries)


async def test_a_certbot_tree_imports_each_lineage_once(
    cli: Cli, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """fullchain.pem (or cert.pem + chain.pem) of each live/<name>/ is one certificate with its
    chain; keys, archive/ and accounts/ are skipped with their reasons."""
    base = certbot_tree(tmp_path)
    run = await cli("certs", "import", str(base), "--output", "json")
    assert run.code == 0, run.stderr
    summary = run.json()
    assert _names(summary["created"], base) == [
        "live/api.example.com/cert.pem",
        "live/web.example.com/fullchain.pem",
    ]
    assert sorted(c["certificate"]["name"] for c in summary["created"]) == [
        "api.example.com",
        "web.example.com",
    ]
    reasons = {str(Path(s["file"]).relative_to(base)): s["reason"] for s in summary["skipped"]}
    assert reasons == {
        "accounts": "ACME account data (holds private keys): never read",
        "archive": "certbot archive: the live/ copy is imported",
        "live/api.example.com/privkey.pem": "private key: never read",
        "live/web.example.com/cert.pem": "part of the certbot certificate web.example.com "
        "(imported from fullchain.pem)",
        "live/web.example.com/chain.pem": "part of the certbot certificate web.example.com "
        "(imported from fullchain.pem)",
        "live/web.example.com/privkey.pem": "private key: never read",
    }
    assert summary["failed"] == []
    for created in summary["created"]:
        versions = (
            await api.get(f"/api/v1/certificates/{created['certificate']['id']}/versions")
        ).json()["data"]
        assert versions[0]["pem_chain"].count("BEGIN CERTIFICATE") == 2  # leaf and chain


async def test_an_acme_sh_tree_imports_each_domain_and_skips_a_lone_intermediate(
    cli: Cli, tmp_path: Path
) -> None:
    """fullchain.cer (or <domain>.cer + ca.cer) is one certificate; an intermediate alone and
    key files are skipped; the table closes with the counts."""
    base = acme_sh_tree(tmp_path)
    run = await cli("certs", "import", str(base), "--output", "json")
    assert run.code == 0, run.stderr
    summary = run.json()
    assert _names(summary["created"], base) == [
        "mail.example.com_ecc/mail.example.com.cer",
        "vpn.example.com/fullchain.cer",
    ]
    assert sorted(c["certificate"]["name"] for c in summary["created"]) == [
        "mail.example.com",
        "vpn.example.com",
    ]
    reasons = {str(Path(s["file"]).relative_to(base)): s["reason"] for s in summary["skipped"]}
    assert reasons == {
        "intermediate.pem": "a CA certificate alone is not a managed certificate",
        "mail.example.com_ecc/mail.example.com.key": "private key: never read",
        "vpn.example.com/ca.cer": "part of the acme.sh certificate vpn.example.com "
        "(imported from fullchain.cer)",
        "vpn.example.com/vpn.example.com.cer": "part of the acme.sh certificate vpn.example.com "
        "(imported from fullchain.cer)",
        "vpn.example.com/vpn.example.com.key": "private key: never read",
    }
    table = await cli("certs", "import", str(acme_sh_tree(tmp_path / "again")))
    assert "0 created, 5 skipped, 2 failed" in table.stdout  # the same names exist already
