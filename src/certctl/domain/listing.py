"""Paging and sorting of list endpoints: `{data, total, page, per_page}`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from certctl.errors import InvalidRequest

T = TypeVar("T")

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class SortKey:
    """One sort column and its direction."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class PageRequest:
    """Which slice of a list the caller wants."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def __post_init__(self) -> None:
        if self.page < 1:
            raise InvalidRequest("page must be 1 or more", field="page")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidRequest(f"per_page must be between 1 and {MAX_PER_PAGE}", field="per_page")

    @property
    def offset(self) -> int:
        """Rows to skip before this page."""
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results plus the true total count."""

    items: Sequence[T]
    total: int
    page: int
    per_page: int


def parse_sort(text: str | None, allowed: Sequence[str], default: str) -> SortKey:
    """Parse `sort=-expires_at` against the allowed columns, naming `sort` on error."""
    raw = (text or "").strip() or default
    descending = raw.startswith("-")
    field = raw[1:] if raw[:1] in "+-" else raw
    if field not in allowed:
        raise InvalidRequest(
            f"cannot sort by {field!r}; allowed: {', '.join(sorted(allowed))}", field="sort"
        )
    return SortKey(field=field, descending=descending)
