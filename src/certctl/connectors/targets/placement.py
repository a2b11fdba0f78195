"""Put files in place atomically: a temporary file beside the target, fsync, rename, fsync dir."""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from certctl.connectors.targets.layout import PlannedFile
from certctl.domain.targets import TargetConfig


class PlacementFailed(Exception):
    """A file could not be read, staged or renamed into place."""


@dataclass(frozen=True)
class Existing:
    """A target file as found before the deploy: None fields when it did not exist."""

    path: str
    data: bytes | None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None

    @property
    def sha256(self) -> str | None:
        """Digest of the current contents, or None for a missing file."""
        return None if self.data is None else hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Ownership:
    """Owner, group and permission bits a written file gets."""

    uid: int
    gid: int
    mode: int


def read_existing(path: str) -> Existing:
    """Snapshot a target file (contents, mode, owner) or note that it is absent."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            data = handle.read()
    except FileNotFoundError:
        return Existing(path, None)
    except OSError as exc:
        raise PlacementFailed(f"cannot read {path}: {exc.strerror}") from exc
    return Existing(path, data, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)


def ownership_for(config: TargetConfig, planned: PlannedFile, existing: Existing) -> Ownership:
    """Config values win; else the previous file's owner and mode; else the process and a default.

    A replaced file keeps who may read it (e.g. `root:ssl-cert 0640`), which is what an
    operator set up for the server that reads it.
    """
    uid = _uid(config.owner) if config.owner else existing.uid
    gid = _gid(config.group) if config.group else existing.gid
    mode = config.mode if config.mode is not None else existing.mode
    return Ownership(
        uid=os.geteuid() if uid is None else uid,
        gid=os.getegid() if gid is None else gid,
        mode=planned.default_mode if mode is None else mode,
    )


def _uid(owner: str) -> int:
    if owner.isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise PlacementFailed(f"no such user {owner!r} on this host") from None


def _gid(group: str) -> int:
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise PlacementFailed(f"no such group {group!r} on this host") from None


def stage(path: str, data: bytes, owner: Ownership) -> str:
    """Write `data` to a new temporary file in `path`'s directory, owned and fsynced; return it.

    The file is created 0600 and only then given its final mode and owner, so the key is never
    readable by anyone else, not even for a moment.
    """
    target = Path(path)
    temp = target.with_name(f".{target.name}.certctl-{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise PlacementFailed(f"cannot create a file in {target.parent}: {exc.strerror}") from exc
    try:
        _write_all(fd, data)
        info = os.fstat(fd)
        if (info.st_uid, info.st_gid) != (owner.uid, owner.gid):
            os.fchown(fd, owner.uid, owner.gid)
        os.fchmod(fd, owner.mode)
        os.fsync(fd)
    except OSError as exc:
        discard(str(temp))
        raise PlacementFailed(f"cannot write {temp}: {exc.strerror}") from exc
    finally:
        os.close(fd)
    return str(temp)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def replace(temp: str, path: str) -> None:
    """Rename the staged file over the target (atomic, POSIX rename(2)) and fsync the directory."""
    try:
        os.replace(temp, path)
        sync_directory(path)
    except OSError as exc:
        raise PlacementFailed(f"cannot rename into {path}: {exc.strerror}") from exc


def remove(path: str) -> None:
    """Delete a file the deploy created where none existed before."""
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        sync_directory(path)
    except OSError as exc:
        raise PlacementFailed(f"cannot remove {path}: {exc.strerror}") from exc


def discard(temp: str) -> None:
    """Drop a staged file that will not be used."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)


def sync_directory(path: str) -> None:
    """fsync the directory holding `path`, so a rename survives a crash."""
    fd = os.open(Path(path).parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
