"""Paging bounds and offsets, and parsing of the `sort` parameter."""

from __future__ import annotations

import pytest

from certctl.domain.listing import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    Page,
    PageRequest,
    SortKey,
    parse_sort,
)
from certctl.errors import FieldError, InvalidRequest

ALLOWED = ("name", "expires_at", "created_at")


def test_page_request_defaults_to_first_page_of_fifty() -> None:
    """The default page is page 1 of 50 rows (max 500)."""
    assert (PageRequest(), DEFAULT_PER_PAGE, MAX_PER_PAGE) == (PageRequest(1, 50), 50, 500)


@pytest.mark.parametrize(
    ("page", "per_page", "offset"),
    [(1, 50, 0), (2, 50, 50), (3, 25, 50), (1, 1, 0), (7, 1, 6), (10, 500, 4500)],
)
def test_offset_skips_previous_pages(page: int, per_page: int, offset: int) -> None:
    """The offset is the number of rows on the pages before this one."""
    assert PageRequest(page=page, per_page=per_page).offset == offset


@pytest.mark.parametrize("page", [0, -1])
def test_page_below_one_is_refused_naming_page(page: int) -> None:
    """A page number under 1 is an InvalidRequest on `page`."""
    with pytest.raises(InvalidRequest) as caught:
        PageRequest(page=page)
    assert caught.value.errors == (FieldError("page", "page must be 1 or more"),)


@pytest.mark.parametrize("per_page", [0, -5, 501, 10_000])
def test_per_page_out_of_range_is_refused_naming_per_page(per_page: int) -> None:
    """A page size outside 1..500 is an InvalidRequest on `per_page`."""
    with pytest.raises(InvalidRequest) as caught:
        PageRequest(per_page=per_page)
    assert caught.value.errors == (FieldError("per_page", "per_page must be between 1 and 500"),)


@pytest.mark.parametrize("per_page", [1, 500])
def test_per_page_bounds_are_inclusive(per_page: int) -> None:
    """Page sizes of exactly 1 and 500 are accepted."""
    assert PageRequest(per_page=per_page).per_page == per_page


def test_page_is_checked_before_per_page() -> None:
    """With both out of range, the page number is the one reported."""
    with pytest.raises(InvalidRequest) as caught:
        PageRequest(page=0, per_page=0)
    assert caught.value.field == "page"


def test_page_holds_items_and_true_total() -> None:
    """A page carries its items, the true total and the paging it answers."""
    page = Page(items=["a", "b"], total=7, page=2, per_page=2)
    assert (list(page.items), page.total, page.page, page.per_page) == (["a", "b"], 7, 2, 2)


@pytest.mark.parametrize("text", [None, ""])
def test_missing_sort_uses_default(text: str | None) -> None:
    """No sort parameter sorts by the default column, ascending."""
    assert parse_sort(text, ALLOWED, "name") == SortKey(field="name", descending=False)


def test_default_sort_may_be_descending() -> None:
    """A default written with a leading dash sorts descending."""
    assert parse_sort(None, ALLOWED, "-created_at") == SortKey("created_at", descending=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-expires_at", SortKey("expires_at", descending=True)),
        ("expires_at", SortKey("expires_at", descending=False)),
        ("+expires_at", SortKey("expires_at", descending=False)),
        ("  -name  ", SortKey("name", descending=True)),
    ],
)
def test_sort_parses_direction_and_column(text: str, expected: SortKey) -> None:
    """A leading dash means descending, a plus or nothing ascending; whitespace is ignored."""
    assert parse_sort(text, ALLOWED, "name") == expected


@pytest.mark.parametrize(
    ("text", "column"), [("secret", "secret"), ("-owner_id", "owner_id"), ("-", "")]
)
def test_unknown_sort_column_is_refused_naming_sort(text: str, column: str) -> None:
    """A column outside the allowed list is an InvalidRequest on `sort` listing the columns."""
    with pytest.raises(InvalidRequest) as caught:
        parse_sort(text, ALLOWED, "name")
    assert caught.value.errors == (
        FieldError("sort", f"cannot sort by {column!r}; allowed: created_at, expires_at, name"),
    )


def test_blank_sort_uses_the_default() -> None:
    """A sort parameter of only spaces falls back to the default column."""
    assert parse_sort("  ", ["name"], "name") == SortKey("name", descending=False)


def test_double_minus_sort_is_refused() -> None:
    """`--name` is not a descending sort; it names an unknown column."""
    with pytest.raises(InvalidRequest) as caught:
        parse_sort("--name", ["name"], "name")
    assert caught.value.field == "sort"
