"""The audit hash chain: canonical row content, SHA-256 links and their verification (C11).

Each row's hash covers its canonical content and the previous row's hash, so editing,
deleting, inserting or replacing any row breaks the link at that row or the next one.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC

from certctl.domain.audit import AuditEvent, jsonable

GENESIS = "0" * 64
"""The `prev_hash` of the first row of a trail."""


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""Sorted-key compact JSON; one encoder for every row (json.dumps builds one per call)."""


def canonical_content(event: AuditEvent) -> bytes:
    """The bytes a row's hash covers: sorted-key compact JSON of every stored field but seq."""
    return _canonical(event, event.prev_hash)


def _canonical(event: AuditEvent, prev_hash: str) -> bytes:
    document = {
        "id": event.id,
        "occurred_at": event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": event.actor,
        "actor_type": jsonable(event.actor_type),
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "status": jsonable(event.status),
        "details": jsonable(event.details),
        "request_id": event.request_id,
        "body_sha256": event.body_sha256,
        "latency_ms": event.latency_ms,
        "prev_hash": prev_hash,
    }
    return _CANONICAL.encode(document).encode("utf-8")


def row_hash(event: AuditEvent) -> str:
    """Hex SHA-256 of the row's canonical content (which includes the previous hash)."""
    return hashlib.sha256(canonical_content(event)).hexdigest()


def link(events: Iterable[AuditEvent], prev_hash: str) -> list[AuditEvent]:
    """Chain `events` after a row whose hash is `prev_hash`, in order."""
    linked = []
    for event in events:
        digest = hashlib.sha256(_canonical(event, prev_hash)).hexdigest()
        linked.append(dataclasses.replace(event, prev_hash=prev_hash, row_hash=digest))
        prev_hash = digest
    return linked


class BreakKind(enum.StrEnum):
    """How the chain is broken at a row."""

    CONTENT_CHANGED = "content_changed"
    """The row's content no longer matches its hash: it was edited or replaced."""
    LINK_BROKEN = "link_broken"
    """The row does not follow its predecessor: a row before it was deleted, inserted or
    replaced, or this row was inserted."""
    HEAD_MISMATCH = "head_mismatch"
    """The last row is not the recorded chain head: rows at the end were deleted or added
    outside the chain."""


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link found."""

    kind: BreakKind
    seq: int | None
    event_id: str | None
    detail: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of one verification of the whole trail."""

    rows_checked: int
    head_hash: str
    first_break: ChainBreak | None = None

    @property
    def intact(self) -> bool:
        """Whether every link holds."""
        return self.first_break is None


class ChainVerifier:
    """Walks rows in `seq` order and remembers the first broken link."""

    def __init__(self) -> None:
        self.rows = 0
        self.last_hash = GENESIS
        self.last_seq: int | None = None
        self.first_break: ChainBreak | None = None

    def feed(self, event: AuditEvent) -> bool:
        """Check the next row; return False once the chain is broken (stop feeding)."""
        if self.first_break is not None:
            return False
        self.rows += 1
        if event.prev_hash != self.last_hash:
            self._break(BreakKind.LINK_BROKEN, event, "its prev_hash is not the previous row's")
        elif row_hash(event) != event.row_hash:
            self._break(BreakKind.CONTENT_CHANGED, event, "its content does not match its hash")
        self.last_hash, self.last_seq = event.row_hash, event.seq
        return self.first_break is None

    def finish(self, *, head_seq: int | None, head_hash: str) -> ChainReport:
        """Compare the last row with the recorded head and report."""
        if self.first_break is None and (head_seq, head_hash) != (self.last_seq, self.last_hash):
            self.first_break = ChainBreak(
                kind=BreakKind.HEAD_MISMATCH,
                seq=head_seq,
                event_id=None,
                detail=(
                    f"the chain head names row {head_seq} but the trail ends at row {self.last_seq}"
                ),
            )
        return ChainReport(
            rows_checked=self.rows, head_hash=self.last_hash, first_break=self.first_break
        )

    def _break(self, kind: BreakKind, event: AuditEvent, why: str) -> None:
        self.first_break = ChainBreak(
            kind=kind,
            seq=event.seq,
            event_id=event.id,
            detail=f"row {event.seq} ({event.id}): {why}",
        )
