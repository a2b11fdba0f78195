"""The agent's filesystem discovery (C8): walk directories and describe every certificate found.

Symbolic links to directories are not followed (no loops, no escape from the configured
trees); unreadable files, files over the size cap and files that are not certificates are
skipped. Only certificates are reported: a private key sitting in the same PEM file is never
read into a result.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from certctl.domain.discovery import DiscoveredFile
from certctl.pki.certfiles import FoundCertificate, certificates_in

MAX_FILE_BYTES = 1_000_000


def scan_paths(
    dirs: Sequence[Path], *, max_file_bytes: int = MAX_FILE_BYTES
) -> list[DiscoveredFile]:
    """Every certificate in regular files under `dirs`, sorted by path then position."""
    found: list[DiscoveredFile] = []
    seen: set[tuple[int, int]] = set()
    for path in _files(dirs):
        data = _read(path, max_file_bytes, seen)
        if data is not None:
            found.extend(_describe(str(path), item) for item in certificates_in(data))
    return sorted(found, key=lambda f: (f.path, f.index))


def _files(dirs: Sequence[Path]) -> Iterator[Path]:
    for root in dirs:
        if root.is_file():
            yield root
            continue
        # os.walk does not descend into symlinked directories (followlinks=False).
        for folder, subdirs, names in os.walk(root, onerror=lambda _: None):
            subdirs.sort()
            for name in sorted(names):
                yield Path(folder) / name


def _read(path: Path, cap: int, seen: set[tuple[int, int]]) -> bytes | None:
    """The file's bytes when it is a readable regular file within the cap, read only once."""
    try:
        info = path.stat()
    except OSError:
        return None
    identity = (info.st_dev, info.st_ino)
    if not stat.S_ISREG(info.st_mode) or info.st_size > cap or identity in seen:
        return None
    seen.add(identity)
    try:
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
    except OSError:
        return None
    # The file may have grown since stat(): the cap holds for what is actually read.
    return None if len(data) > cap else data


def _describe(path: str, item: FoundCertificate) -> DiscoveredFile:
    facts = item.facts
    return DiscoveredFile(
        path=path,
        index=item.index,
        fingerprint_sha256=facts.fingerprint_sha256,
        common_name=facts.common_name,
        sans=facts.sans,
        subject_dn=facts.subject_dn,
        issuer_dn=facts.issuer_dn,
        serial_number=facts.serial_number,
        not_before=facts.not_before,
        not_after=facts.not_after,
        key_algorithm=facts.key_algorithm,
        key_size=facts.key_size,
        is_ca=facts.is_ca,
        format=item.format,
        pem=item.pem,
    )
