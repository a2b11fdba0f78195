"""The one deploy primitive for every file-based target: write, validate, reload, verify, undo.

Order of a deploy, under a per-target lock (an asyncio lock in the process, an flock across
processes):
  1. read the current files; if the would-be bytes are identical (SHA-256), nothing is done;
  2. copy the current files into a timestamped backup, prune to `backups`;
  3. stage each new file as a temporary file in the target's own directory (same filesystem,
     so the rename is atomic), owner and mode set, fsynced;
  4. rename them into place and fsync the directory;
  5. run the validate command: validators such as `nginx -t` read the paths named in the
     server's own config, so they must see the new files in place; the server itself has not
     reloaded yet and keeps serving from memory;
  6. run the reload command, then probe `verify_endpoint` when set.
Any failure restores the previous files from the backup; when the server may already have
loaded the new files (a failed reload or check) it is reloaded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from certctl.clock import Clock, SystemClock
from certctl.connectors.targets import backups
from certctl.connectors.targets.commands import CommandFailed, run_command
from certctl.connectors.targets.layout import DeployBundle, PlannedFile, leaf_sha256, plan_files
from certctl.connectors.targets.placement import (
    Existing,
    Ownership,
    PlacementFailed,
    discard,
    ownership_for,
    read_existing,
    remove,
    replace,
    stage,
)
from certctl.connectors.targets.verify import verify_served_leaf
from certctl.domain.inventory import TargetType
from certctl.domain.targets import TargetConfig, parse_target_config
from certctl.errors import InvalidRequest

log = structlog.get_logger("certctl.deploy")
Sleep = Callable[[float], Awaitable[None]]
_LOCK_POLL_SECONDS = 0.05
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


class DeployFailed(Exception):
    """A deploy did not complete; `rolled_back` tells whether the previous files were restored."""

    def __init__(self, reason: str, *, rolled_back: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rolled_back = rolled_back


@dataclass(frozen=True)
class DeployOutcome:
    """A finished deploy: whether files changed, what was deployed and what the endpoint served."""

    changed: bool
    leaf_sha256: str
    files: tuple[str, ...]
    verified: bool
    served_sha256: str | None


async def deploy(
    target_type: TargetType,
    config: Mapping[str, Any],
    bundle: DeployBundle,
    *,
    backup_dir: Path,
    sleep: Sleep = asyncio.sleep,
    clock: Clock | None = None,
) -> DeployOutcome:
    """Deploy `bundle` to the target described by `config`; raise DeployFailed on any failure."""
    try:
        parsed = parse_target_config(target_type, config)
    except InvalidRequest as exc:
        raise DeployFailed(f"{exc.field}: {exc.detail}", rolled_back=False) from exc
    try:
        planned = plan_files(parsed, bundle)
        leaf = leaf_sha256(bundle)
    except ValueError as exc:
        raise DeployFailed(str(exc), rolled_back=False) from exc
    slot = backups.target_slot(backup_dir, [p.path for p in planned])
    run = _Run(parsed, planned, leaf, slot, sleep, clock or SystemClock())
    async with target_lock(slot):
        try:
            outcome = await run.execute()
        except DeployFailed as exc:
            log.warning(
                "deploy.failed",
                target_type=str(target_type),
                files=run.files,
                reason=exc.reason,
                rolled_back=exc.rolled_back,
            )
            raise
    log.info(
        "deploy.completed",
        target_type=str(target_type),
        files=outcome.files,
        changed=outcome.changed,
        leaf_sha256=outcome.leaf_sha256,
        verified=outcome.verified,
    )
    return outcome


@contextlib.asynccontextmanager
async def target_lock(slot: Path) -> AsyncIterator[None]:
    """Hold the target's lock: one deploy at a time per target, across tasks and processes."""
    loop = asyncio.get_running_loop()
    lock = _locks.setdefault(loop, {}).setdefault(str(slot), asyncio.Lock())
    async with lock:
        try:
            backups.open_slot(slot)
        except PlacementFailed as exc:
            raise DeployFailed(str(exc), rolled_back=False) from exc
        fd = os.open(slot / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await _flock(fd)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock


async def _flock(fd: int) -> None:
    # Polled rather than blocking in a thread, so a cancelled deploy never leaves a thread
    # holding the lock of a descriptor that is being closed.
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in {errno.EAGAIN, errno.EACCES}:
                raise
        await asyncio.sleep(_LOCK_POLL_SECONDS)


class _Run:
    """One deploy of one bundle to one target, holding what a rollback needs."""

    def __init__(
        self,
        config: TargetConfig,
        planned: list[PlannedFile],
        leaf: str,
        slot: Path,
        sleep: Sleep,
        clock: Clock,
    ) -> None:
        self.config = config
        self.planned = planned
        self.leaf = leaf
        self.slot = slot
        self.sleep = sleep
        self.clock = clock
        self.files = tuple(p.path for p in planned)
        self.backup: Path | None = None

    async def execute(self) -> DeployOutcome:
        """Run the steps in order; the module docstring lists them."""
        existing = self._guard(lambda: [read_existing(p.path) for p in self.planned])
        if all(p.sha256 == e.sha256 for p, e in zip(self.planned, existing, strict=True)):
            return await self._unchanged()
        self.backup = self._guard(lambda: self._save(existing))
        staged = self._stage(existing)
        await self._place(staged)
        await self._command(self.config.validate_command, "validate", reload_after=False)
        await self._command(self.config.reload_command, "reload", reload_after=True)
        return await self._verify()

    def _guard(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except PlacementFailed as exc:
            raise DeployFailed(str(exc), rolled_back=False) from exc

    def _save(self, existing: list[Existing]) -> Path:
        pairs = [(p.key, e) for p, e in zip(self.planned, existing, strict=True)]
        backup = backups.save_backup(self.slot, pairs, self.clock.now())
        backups.prune_backups(self.slot, self.config.backups)
        return backup

    def _stage(self, existing: list[Existing]) -> list[str]:
        staged: list[str] = []
        try:
            for planned, previous in zip(self.planned, existing, strict=True):
                owner = ownership_for(self.config, planned, previous)
                staged.append(stage(planned.path, planned.data, owner))
        except PlacementFailed as exc:
            for temp in staged:
                discard(temp)
            raise DeployFailed(str(exc), rolled_back=False) from exc
        return staged

    async def _place(self, staged: list[str]) -> None:
        placed = 0
        try:
            for temp, planned in zip(staged, self.planned, strict=True):
                replace(temp, planned.path)
                placed += 1
        except PlacementFailed as exc:
            for temp in staged[placed:]:
                discard(temp)
            await self._fail(str(exc), reload_after=False)

    async def _command(self, argv: tuple[str, ...], step: str, *, reload_after: bool) -> None:
        if not argv:
            return
        try:
            await run_command(argv, step=step, deadline=self.config.command_timeout_seconds)
        except CommandFailed as exc:
            await self._fail(str(exc), reload_after=reload_after)

    async def _verify(self) -> DeployOutcome:
        if self.config.verify_endpoint is None:
            return DeployOutcome(True, self.leaf, self.files, False, None)
        check = await verify_served_leaf(self.config, self.leaf, self.sleep)
        if not check.matched:
            if not self.config.rollback_on_verify_failure:
                raise DeployFailed(f"verification failed: {check.reason}", rolled_back=False)
            await self._fail(f"verification failed: {check.reason}", reload_after=True)
        return DeployOutcome(True, self.leaf, self.files, True, check.served_sha256)

    async def _unchanged(self) -> DeployOutcome:
        """Same bytes: no write, no command. The endpoint is still checked when configured."""
        if self.config.verify_endpoint is None:
            return DeployOutcome(False, self.leaf, self.files, False, None)
        check = await verify_served_leaf(self.config, self.leaf, self.sleep)
        if not check.matched:
            reason = f"files are current but verification failed: {check.reason}"
            raise DeployFailed(reason, rolled_back=False)
        return DeployOutcome(False, self.leaf, self.files, True, check.served_sha256)

    async def _fail(self, reason: str, *, reload_after: bool) -> None:
        """Restore the previous files from the backup, reload if needed, and raise."""
        try:
            self._restore()
        except PlacementFailed as exc:
            raise DeployFailed(
                f"{reason}; restoring the previous files failed: {exc}", rolled_back=False
            ) from exc
        if reload_after and self.config.reload_command:
            try:
                await run_command(
                    self.config.reload_command,
                    step="reload",
                    deadline=self.config.command_timeout_seconds,
                )
            except CommandFailed as exc:
                reason = f"{reason}; files restored but the reload after it failed: {exc}"
        raise DeployFailed(reason, rolled_back=True)

    def _restore(self) -> None:
        assert self.backup is not None  # set before any file is touched
        for _key, previous in backups.load_backup(self.backup):
            if previous.data is None:
                remove(previous.path)
                continue
            owner = Ownership(
                uid=os.geteuid() if previous.uid is None else previous.uid,
                gid=os.getegid() if previous.gid is None else previous.gid,
                mode=0o600 if previous.mode is None else previous.mode,
            )
            replace(stage(previous.path, previous.data, owner), previous.path)
