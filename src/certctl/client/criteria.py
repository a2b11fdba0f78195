"""Which certificates or audit events a call is about: the filters shared by several calls."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@dataclass(frozen=True, kw_only=True)
class CertificateCriteria:
    """Certificate filters as the API names them; statuses are OR-ed, the rest AND-ed."""

    statuses: tuple[str, ...] = ()
    environment: str | None = None
    owner_id: str | None = None
    team_id: str | None = None
    issuer_id: str | None = None
    q: str | None = None
    expires_before: datetime | None = None
    expires_after: datetime | None = None
    expires_within_days: int | None = None

    def query(self) -> dict[str, Any]:
        """Query parameters of ``GET /certificates`` (statuses repeated)."""
        params: dict[str, Any] = _present(self, exclude={"statuses"})
        if self.statuses:
            params["status"] = list(self.statuses)
        return params

    def body(self) -> dict[str, Any]:
        """Criteria of a bulk action (the API takes no expiry bounds there)."""
        expiry = (self.expires_before, self.expires_after, self.expires_within_days)
        if any(bound is not None for bound in expiry):
            raise ValueError("bulk actions cannot filter on expiry dates")
        params = _present(
            self, exclude={"statuses", "expires_before", "expires_after", "expires_within_days"}
        )
        if self.statuses:
            params["status"] = list(self.statuses)
        return params

    @property
    def is_empty(self) -> bool:
        """True when no filter is set (a bulk action would then match everything)."""
        return not self.query()


@dataclass(frozen=True, kw_only=True)
class AuditCriteria:
    """Audit trail filters; ``since`` is inclusive, ``until`` exclusive."""

    actor: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def query(self) -> dict[str, Any]:
        """Query parameters of ``GET /audit``."""
        return _present(self, exclude=set())


def _present(criteria: DataclassInstance, *, exclude: set[str]) -> dict[str, Any]:
    """The set fields of a criteria dataclass, datetimes as ISO 8601."""
    found: dict[str, Any] = {}
    for field in fields(criteria):
        value = getattr(criteria, field.name)
        if field.name in exclude or value is None or value == "":
            continue
        found[field.name] = value.isoformat() if isinstance(value, datetime) else value
    return found
