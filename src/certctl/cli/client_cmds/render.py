"""Printing answers: JSON as the API sent it, or Rich tables with colour and relative times."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import typer
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

from certctl.cli.client_cmds.session import ClientOptions, out

_UNITS = ((timedelta(days=1), "d"), (timedelta(hours=1), "h"), (timedelta(minutes=1), "min"))
DASH = "—"

CERTIFICATE_STYLES = {
    "Active": "green",
    "Expiring": "yellow",
    "Expired": "bold red",
    "RenewalInProgress": "cyan",
    "Pending": "blue",
    "Failed": "red",
    "Revoked": "magenta",
    "Archived": "dim",
}
JOB_STYLES = {
    "Pending": "blue",
    "AwaitingCSR": "yellow",
    "AwaitingApproval": "yellow",
    "Running": "cyan",
    "Completed": "green",
    "Failed": "red",
    "Cancelled": "dim",
}
NOTIFICATION_STYLES = {
    "pending": "blue",
    "sent": "green",
    "read": "green",
    "failed": "yellow",
    "dead": "bold red",
    "skipped": "dim",
    "cancelled": "dim",
    "silenced": "magenta",
    "held": "cyan",
    "digested": "dim",
}
ALERT_STYLES = {"open": "bold red", "acknowledged": "yellow", "resolved": "green"}
AUDIT_STYLES = {"success": "green", "failure": "red", "denied": "yellow"}
AGENT_STYLES = {"Online": "green", "Degraded": "yellow", "Offline": "dim", "Retired": "dim"}


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from the API (``Z`` accepted), or None."""
    return datetime.fromisoformat(value) if value else None


def relative(value: str | None, now: datetime) -> str:
    """``in 12 d`` / ``3 h ago`` / ``now``; a dash when there is no time."""
    when = parse_time(value)
    if when is None:
        return DASH
    delta = when - now
    size = abs(delta)
    for unit, label in _UNITS:
        if size >= unit:
            amount = f"{size // unit} {label}"
            return f"in {amount}" if delta > timedelta(0) else f"{amount} ago"
    return "now"


def expiry(value: str | None, now: datetime) -> Text:
    """The relative expiry, red when past, yellow within 30 days."""
    when = parse_time(value)
    style = ""
    if when is not None:
        style = "red" if when <= now else "yellow" if when - now <= timedelta(days=30) else ""
    return Text(relative(value, now), style=style)


def day(value: str | None) -> str:
    """The date part of a time (``2026-07-31``)."""
    when = parse_time(value)
    return when.date().isoformat() if when else DASH


def stamp(value: str | None, now: datetime) -> str:
    """A time with its relative form: ``2026-07-31 12:00 UTC (in 60 d)``."""
    when = parse_time(value)
    if when is None:
        return DASH
    return f"{when:%Y-%m-%d %H:%M} UTC ({relative(value, now)})"


def status(value: str | None, styles: Mapping[str, str]) -> Text:
    """A status word in its colour."""
    return Text(value or DASH, style=styles.get(value or "", ""))


def text(value: object) -> str:
    """A cell for any JSON value (dash for null or empty)."""
    if value is None or value in ("", [], {}):
        return DASH
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


class Listing(Table):
    """A list table that drops its low-value columns, in a set order, on a narrow terminal.

    Rich would otherwise squeeze every column to an ellipsis or to nothing; here each column
    keeps room for its longest word (cells wrap between words, and fold a word only when the
    terminal is narrower than the columns that are never dropped).
    """

    def __init__(self, title: str, columns: Iterable[str], *, whole: set[str], drop: Sequence[str]):
        super().__init__(title=title, title_justify="left", header_style="bold")
        self.drop_order = tuple(drop)
        for column in columns:
            self.add_column(column, no_wrap=column in whole, overflow="fold")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from Table.__rich_console__(self.fitted(console, options), console, options)

    def fitted(self, console: Console, options: ConsoleOptions) -> Table:
        """A copy without the columns that must go for the rest to fit ``options.max_width``,
        the others sized so that none is narrower than its longest word."""
        table = copy.copy(self)
        for header in self.drop_order:
            if Table.__rich_measure__(table, console, options).minimum <= options.max_width:
                break
            table.columns = [c for c in table.columns if c.header != header]
        table.columns = [copy.copy(c) for c in table.columns]
        ranges = [_content_range(console, options, column) for column in table.columns]
        # Borders: one per column plus the outer edge; padding: one space on each side.
        room = options.max_width - (len(ranges) + 1) - 2 * len(ranges)
        for column, width in zip(table.columns, _share(room, ranges), strict=True):
            column.width = width
        return table


def _content_range(console: Console, options: ConsoleOptions, column: Column) -> tuple[int, int]:
    """The narrowest and widest a column's header and cells can be laid out."""
    sizes = [Measurement.get(console, options, column.header)]
    sizes += [Measurement.get(console, options, cell) for cell in column.cells]
    return max(m.minimum for m in sizes), max(m.maximum for m in sizes)


def _share(room: int, ranges: Sequence[tuple[int, int]]) -> list[int | None]:
    """Widths giving each column its minimum, then the rest of ``room`` in proportion to what
    each could still use; no fixed widths at all when every column fits at its widest."""
    if sum(widest for _, widest in ranges) <= room:
        return [None] * len(ranges)
    spare = max(room - sum(narrowest for narrowest, _ in ranges), 0)
    wants = [widest - narrowest for narrowest, widest in ranges]
    total = sum(wants) or 1
    return [
        narrowest + spare * want // total
        for (narrowest, _), want in zip(ranges, wants, strict=True)
    ]


def listing(
    title: str,
    columns: Iterable[str],
    *,
    whole: Iterable[str] = ("ID",),
    drop: Sequence[str] = (),
) -> Listing:
    """An empty list table with these headers.

    Columns named in ``whole`` hold ids people copy into the next command: they are never
    cut or wrapped. When the table does not fit the terminal, the columns named in ``drop``
    are left out, first one first, until it does; the others wrap between words.
    """
    return Listing(title, columns, whole=set(whole), drop=drop)


def details(title: str, rows: Iterable[tuple[str, RenderableType]]) -> Table:
    """A two-column table of one resource's fields."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("Field", style="bold")
    table.add_column("Value")
    for name, value in rows:
        table.add_row(name, value)
    return table


def page_footer(page: Mapping[str, Any]) -> str:
    """``page 1 of 3 · 57 total``."""
    per_page = max(int(page["per_page"]), 1)
    pages = max(1, -(-int(page["total"]) // per_page))
    return f"page {page['page']} of {pages} · {page['total']} total"


def emit(options: ClientOptions, data: object, table: Callable[[], RenderableType]) -> None:
    """Print ``data`` as JSON, or the table built from it."""
    if options.json:
        print_json(data)
    else:
        out.print(table())


def print_json(data: object) -> None:
    """The JSON document, indented, nothing else on stdout."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def emit_page(options: ClientOptions, page: Mapping[str, Any], table: Callable[[], Table]) -> None:
    """Print a list answer: JSON, or the table and a paging footer."""
    if options.json:
        print_json(page)
        return
    if page["data"]:
        out.print(table())
    else:
        out.print("nothing found")
    out.print(page_footer(page), style="dim")
