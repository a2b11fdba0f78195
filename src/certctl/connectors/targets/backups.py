"""Copies of a target's previous files, kept per target, timestamped, oldest pruned first."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from certctl.connectors.targets.placement import Existing, PlacementFailed

_MANIFEST = "manifest.json"


def target_slot(backup_dir: Path, paths: Sequence[str]) -> Path:
    """The directory for one target's backups and lock file, named after the files it writes.

    Several targets may share one backup_dir; a digest of the target's paths keeps their
    backups apart and stable across restarts.
    """
    ordered = sorted(paths)
    digest = hashlib.sha256("\0".join(ordered).encode()).hexdigest()[:16]
    return backup_dir / f"{Path(ordered[0]).name}-{digest}"


def open_slot(slot: Path) -> Path:
    """Create the slot (0700: backups hold private keys) and return it."""
    try:
        slot.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise PlacementFailed(f"cannot create backup directory {slot}: {exc.strerror}") from exc
    return slot


def save_backup(slot: Path, files: Sequence[tuple[str, Existing]], now: datetime) -> Path:
    """Copy the previous files (key name, snapshot) into a new timestamped backup."""
    backup = _new_backup_dir(slot, now)
    manifest = []
    for key, existing in files:
        if existing.data is not None:
            _write_private(backup / key, existing.data)
        manifest.append(
            {
                "key": key,
                "path": existing.path,
                "existed": existing.data is not None,
                "mode": existing.mode,
                "uid": existing.uid,
                "gid": existing.gid,
            }
        )
    _write_private(backup / _MANIFEST, json.dumps(manifest, indent=2).encode())
    return backup


def _new_backup_dir(slot: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    for sequence in range(1000):
        candidate = slot / f"{stamp}-{sequence:03d}"
        try:
            candidate.mkdir(mode=0o700)
        except FileExistsError:
            continue
        except OSError as exc:
            raise PlacementFailed(f"cannot create backup {candidate}: {exc.strerror}") from exc
        return candidate
    raise PlacementFailed(f"too many backups stamped {stamp} in {slot}")


def _write_private(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise PlacementFailed(f"cannot write backup {path}: {exc.strerror}") from exc
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def load_backup(backup: Path) -> list[tuple[str, Existing]]:
    """Read a backup back: the snapshot of each file as it was before the deploy."""
    try:
        manifest = json.loads((backup / _MANIFEST).read_bytes())
        return [(entry["key"], _entry(backup, entry)) for entry in manifest]
    except (OSError, ValueError, KeyError) as exc:
        raise PlacementFailed(f"backup {backup} is unreadable: {exc}") from exc


def _entry(backup: Path, entry: dict[str, object]) -> Existing:
    data = (backup / str(entry["key"])).read_bytes() if entry["existed"] else None
    return Existing(
        path=str(entry["path"]),
        data=data,
        mode=_optional_int(entry["mode"]),
        uid=_optional_int(entry["uid"]),
        gid=_optional_int(entry["gid"]),
    )


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def list_backups(slot: Path) -> list[Path]:
    """The slot's backups, oldest first (their names sort by time)."""
    return sorted(p for p in slot.iterdir() if p.is_dir())


def prune_backups(slot: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups; return the ones removed."""
    backups = list_backups(slot)
    doomed = backups[: max(0, len(backups) - keep)]
    for backup in doomed:
        shutil.rmtree(backup, ignore_errors=True)
    return doomed
