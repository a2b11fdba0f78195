"""The audit hash chain: canonical content, links and the first broken link (C11)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

from certctl.domain.access import ActorType
from certctl.domain.audit import AuditEvent, AuditStatus
from certctl.domain.audit_chain import (
    GENESIS,
    BreakKind,
    ChainVerifier,
    canonical_content,
    link,
    row_hash,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _event(n: int) -> AuditEvent:
    return AuditEvent(
        id=f"ae-{n}",
        occurred_at=NOW + timedelta(seconds=n),
        actor="admin-user",
        actor_type=ActorType.USER,
        action="team_created",
        resource_type="team",
        resource_id=f"t-{n}",
        status=AuditStatus.SUCCESS,
        details={"name": f"T{n}", "nested": {"b": [1, 2], "a": 0.5}},
        request_id=f"req-{n}",
        body_sha256="ab" * 32,
        latency_ms=1.25,
    )


def _chain(count: int) -> list[AuditEvent]:
    linked = link([_event(n) for n in range(1, count + 1)], GENESIS)
    return [dataclasses.replace(e, seq=i) for i, e in enumerate(linked, start=1)]


def _verify(rows: list[AuditEvent]) -> ChainVerifier:
    verifier = ChainVerifier()
    for row in rows:
        if not verifier.feed(row):
            break
    return verifier


def test_canonical_content_is_sorted_compact_json_with_microsecond_utc_time() -> None:
    """The hashed bytes are sorted-key compact JSON with a fixed time format."""
    content = canonical_content(_event(1))
    assert content.startswith(b'{"action":"team_created","actor":"admin-user",')
    assert b'"occurred_at":"2026-06-01T12:00:01.000000Z"' in content
    assert b'"details":{"name":"T1","nested":{"a":0.5,"b":[1,2]}}' in content


def test_row_hash_is_the_sha256_of_the_canonical_content() -> None:
    """row_hash is the hex SHA-256 of exactly the canonical bytes."""
    event = _event(1)
    assert row_hash(event) == hashlib.sha256(canonical_content(event)).hexdigest()


def test_link_chains_each_row_to_its_predecessor() -> None:
    """The first row follows GENESIS and every later row names its predecessor's hash."""
    rows = _chain(3)
    assert rows[0].prev_hash == GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.row_hash for r in rows[:-1]]
    assert all(r.row_hash == row_hash(r) for r in rows)


def test_intact_chain_reports_every_row_and_the_head_hash() -> None:
    """An untouched chain is intact, with all rows counted and the last hash as head."""
    rows = _chain(4)
    report = _verify(rows).finish(head_seq=4, head_hash=rows[-1].row_hash)
    assert (report.intact, report.rows_checked, report.head_hash) == (True, 4, rows[-1].row_hash)


def test_empty_trail_with_genesis_head_is_intact() -> None:
    """No rows and no recorded head is an intact, empty chain."""
    report = ChainVerifier().finish(head_seq=None, head_hash=GENESIS)
    assert (report.intact, report.rows_checked) == (True, 0)


def test_edited_row_is_reported_as_content_changed() -> None:
    """Changing a field without rehashing breaks the content check at that row."""
    rows = _chain(4)
    rows[1] = dataclasses.replace(rows[1], actor="mallory")
    report = _verify(rows).finish(head_seq=4, head_hash=rows[-1].row_hash)
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == (BreakKind.CONTENT_CHANGED, 2)
    assert report.first_break.event_id == "ae-2"


def test_rehashed_edit_breaks_the_next_link() -> None:
    """An edit whose hash was recomputed is caught at the following row's link."""
    rows = _chain(4)
    forged = dataclasses.replace(rows[1], actor="mallory")
    rows[1] = dataclasses.replace(forged, row_hash=row_hash(forged))
    report = _verify(rows).finish(head_seq=4, head_hash=rows[-1].row_hash)
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == (BreakKind.LINK_BROKEN, 3)


def test_deleted_row_breaks_the_next_link() -> None:
    """Removing a middle row is reported at the row that followed it."""
    rows = _chain(4)
    del rows[1]
    report = _verify(rows).finish(head_seq=4, head_hash=rows[-1].row_hash)
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == (BreakKind.LINK_BROKEN, 3)
    assert report.rows_checked == 2


def test_deleted_last_row_is_a_head_mismatch() -> None:
    """Dropping the newest row leaves the recorded head pointing past the trail."""
    rows = _chain(4)
    head = rows.pop()
    report = _verify(rows).finish(head_seq=4, head_hash=head.row_hash)
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == (BreakKind.HEAD_MISMATCH, 4)


def test_feeding_stops_after_the_first_break() -> None:
    """Once broken, the verifier refuses further rows and keeps the first break."""
    rows = _chain(3)
    rows[0] = dataclasses.replace(rows[0], action="forged")
    verifier = ChainVerifier()
    assert verifier.feed(rows[0]) is False
    assert verifier.feed(rows[1]) is False
    assert verifier.rows == 1
    report = verifier.finish(head_seq=3, head_hash=rows[-1].row_hash)
    assert report.first_break is not None
    assert report.first_break.seq == 1
