"""The agent's filesystem scan finds PEM bundles and DER files made by openssl, with exact facts."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from certctl.agent.discovery import scan_paths
from certctl.domain.discovery import CertificateFormat
from certctl.testing.tlsserver import OpensslCA, openssl, sha256_of


def _dates(pem: Path) -> tuple[datetime, datetime]:
    out = openssl("x509", "-in", pem.name, "-noout", "-startdate", "-enddate", cwd=pem.parent)
    start, end = (line.split("=", 1)[1] for line in out.decode().splitlines())
    fmt = "%b %d %H:%M:%S %Y GMT"
    return (
        datetime.strptime(start, fmt).replace(tzinfo=UTC),
        datetime.strptime(end, fmt).replace(tzinfo=UTC),
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OpensslCA]:
    """etc/ with a leaf+root bundle, a DER leaf, a key-only file, a combined PEM, junk."""
    work = tmp_path_factory.mktemp("ca")
    ca = OpensslCA(work)
    web = ca.issue("web", "web.test", ["web.test", "www.web.test"], serial=0x1A2B)
    mail = ca.issue("mail", "mail.test", ["mail.test"], serial=77)
    root = tmp_path_factory.mktemp("scan")
    (root / "etc" / "nginx").mkdir(parents=True)
    (root / "etc" / "nginx" / "fullchain.pem").write_bytes(web.chain.read_bytes())
    openssl("x509", "-in", "mail.pem", "-outform", "DER", "-out", str(root / "etc" / "mail.der"),
            cwd=work)  # fmt: skip
    (root / "etc" / "haproxy.pem").write_bytes(mail.cert.read_bytes() + mail.key.read_bytes())
    (root / "etc" / "only.key").write_bytes(web.key.read_bytes())
    (root / "etc" / "notes.txt").write_text("not a certificate\n")
    (root / "etc" / "broken.der").write_bytes(b"\x30\x03\x02\x01\x00")
    return root, ca


def test_pem_bundle_gives_one_entry_per_certificate_with_exact_facts(
    tree: tuple[Path, OpensslCA],
) -> None:
    """The leaf and its root in one PEM file are entries 0 and 1 with openssl's facts."""
    root, ca = tree
    found = [f for f in scan_paths([root]) if f.path.endswith("fullchain.pem")]
    assert [f.index for f in found] == [0, 1]
    leaf, issuer = found
    not_before, not_after = _dates(ca.dir / "web.pem")
    assert leaf.path == str(root / "etc" / "nginx" / "fullchain.pem")
    assert leaf.fingerprint_sha256 == sha256_of(ca.dir / "web.pem")
    assert (leaf.common_name, leaf.sans) == ("web.test", ("web.test", "www.web.test"))
    assert (leaf.subject_dn, leaf.issuer_dn) == ("CN=web.test", "CN=Discovery Test Root")
    assert leaf.serial_number == "1a2b"
    assert (leaf.not_before, leaf.not_after) == (not_before, not_after)
    assert (leaf.key_algorithm, leaf.key_size, leaf.is_ca) == ("ECDSA", 256, False)
    assert leaf.format is CertificateFormat.PEM
    assert leaf.pem == (ca.dir / "web.pem").read_text()
    assert (issuer.common_name, issuer.is_ca) == ("Discovery Test Root", True)
    assert issuer.fingerprint_sha256 == sha256_of(ca.root)


def test_der_file_is_found_as_der(tree: tuple[Path, OpensslCA]) -> None:
    """A DER-encoded certificate is one entry, format DER, with the PEM of the same certificate."""
    root, ca = tree
    (found,) = [f for f in scan_paths([root]) if f.path.endswith("mail.der")]
    assert found.format is CertificateFormat.DER
    assert (found.index, found.serial_number, found.common_name) == (0, "4d", "mail.test")
    assert found.fingerprint_sha256 == sha256_of(ca.dir / "mail.pem")
    assert found.pem == (ca.dir / "mail.pem").read_text()


def test_private_keys_are_never_reported(tree: tuple[Path, OpensslCA]) -> None:
    """A combined cert+key file yields only the certificate; no result holds key material."""
    root, _ = tree
    found = scan_paths([root])
    assert sorted(Path(f.path).name for f in found) == [
        "fullchain.pem", "fullchain.pem", "haproxy.pem", "mail.der",
    ]  # fmt: skip
    assert all("PRIVATE KEY" not in f.pem for f in found)


def test_files_over_the_cap_are_skipped(tree: tuple[Path, OpensslCA]) -> None:
    """With a 600-byte cap the two-certificate bundle is skipped, the DER file is not."""
    root, _ = tree
    names = {Path(f.path).name for f in scan_paths([root], max_file_bytes=600)}
    assert "fullchain.pem" not in names
    assert "mail.der" in names


def test_symlink_loops_and_unreadable_files_do_not_stop_the_scan(tmp_path: Path) -> None:
    """A link loop is not followed, a dangling link is skipped, one file is read once."""
    ca = OpensslCA(tmp_path)
    leaf = ca.issue("a", "a.test", ["a.test"], serial=1)
    scan = tmp_path / "scan"
    (scan / "sub").mkdir(parents=True)
    (scan / "sub" / "a.pem").write_bytes(leaf.cert.read_bytes())
    os.symlink(scan, scan / "sub" / "loop")
    os.symlink(tmp_path / "missing.pem", scan / "dangling.pem")
    os.symlink(scan / "sub" / "a.pem", scan / "same.pem")
    found = scan_paths([scan, leaf.cert])
    assert [f.path for f in found] == [str(leaf.cert), str(scan / "same.pem")]


def test_a_file_root_is_scanned_and_a_missing_root_is_nothing(tmp_path: Path) -> None:
    """A root that is a file is read directly; a root that does not exist yields nothing."""
    ca = OpensslCA(tmp_path)
    assert [f.common_name for f in scan_paths([ca.root, tmp_path / "nope"])] == [
        "Discovery Test Root"
    ]
