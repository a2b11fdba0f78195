"""What `certs import DIR` imports: certbot's and acme.sh's folder layouts and loose PEM files.

Only names are looked at here; private keys are recognised by name and never opened.
- certbot: `live/<name>/` holds cert.pem, chain.pem, fullchain.pem and privkey.pem;
  `archive/` keeps old copies and `accounts/` the ACME account keys (both left alone).
- acme.sh: `<domain>[_ecc]/` holds `<domain>.cer`, `ca.cer`, `fullchain.cer`,
  `<domain>.key`, `<domain>.csr` and `<domain>.conf`.
fullchain is preferred; otherwise the leaf and the chain file are joined.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CERT_SUFFIXES = (".pem", ".crt", ".cer")
LEFT_ALONE = {
    "archive": "certbot archive: the live/ copy is imported",
    "accounts": "ACME account data (holds private keys): never read",
}


@dataclass(frozen=True)
class Unit:
    """One certificate to import: its files in order (leaf first) and a name, if known."""

    files: tuple[Path, ...]
    layout: str
    name: str | None = None


@dataclass(frozen=True)
class Skip:
    """A file or folder not imported, and why."""

    path: Path
    reason: str


def is_private_key(path: Path) -> bool:
    """Key files by name: certbot's privkey*.pem, acme.sh's and everyone's *.key."""
    name = path.name.lower()
    return name.startswith("privkey") or name.endswith(".key") or name.endswith("-key.pem")


def discover(root: Path) -> tuple[list[Unit], list[Skip]]:
    """The units to import under `root` (a file or a folder, recursed) and what is skipped."""
    if root.is_file():
        if is_private_key(root):
            return [], [Skip(root, "private key: never read")]
        return [Unit((root,), "pem")], []
    units: list[Unit] = []
    skips: list[Skip] = []
    for folder in _folders(root, skips):
        found, skipped = _folder(folder)
        units.extend(found)
        skips.extend(skipped)
    return units, skips


def _folders(root: Path, skips: list[Skip]) -> Iterator[Path]:
    yield root
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        if child.name in LEFT_ALONE:
            skips.append(Skip(child, LEFT_ALONE[child.name]))
            continue
        yield from _folders(child, skips)


def _files(folder: Path) -> list[Path]:
    """Certificate-looking files and key files of one folder, in name order."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and (p.suffix.lower() in CERT_SUFFIXES or is_private_key(p))
    )


def _folder(folder: Path) -> tuple[list[Unit], list[Skip]]:
    files = _files(folder)
    names = {p.name for p in files}
    if names & {"cert.pem", "fullchain.pem"}:
        return _pair(
            folder, files, ("certbot", folder.name), "cert.pem", "chain.pem", "fullchain.pem"
        )
    domain = folder.name.removesuffix("_ecc")
    if f"{domain}.cer" in names or ("fullchain.cer" in names and "ca.cer" in names):
        return _pair(folder, files, ("acme.sh", domain), f"{domain}.cer", "ca.cer", "fullchain.cer")
    units: list[Unit] = []
    skips: list[Skip] = []
    for path in files:
        if is_private_key(path):
            skips.append(Skip(path, "private key: never read"))
        else:
            units.append(Unit((path,), "pem"))
    return units, skips


def _pair(
    folder: Path,
    files: list[Path],
    kind: tuple[str, str],
    leaf: str,
    chain: str,
    full: str,
) -> tuple[list[Unit], list[Skip]]:
    """One certificate from a known layout; every other file of the folder is skipped."""
    layout, name = kind
    by_name = {p.name: p for p in files}
    if full in by_name:
        unit = Unit((by_name[full],), layout, name)
    else:
        parts = tuple(by_name[n] for n in (leaf, chain) if n in by_name)
        unit = Unit(parts, layout, name)
    used = set(unit.files)
    skips = [
        Skip(p, "private key: never read")
        if is_private_key(p)
        else Skip(
            p,
            f"part of the {layout} certificate {name} (imported from {unit.files[0].name})",
        )
        for p in files
        if p not in used
    ]
    return [unit], skips
