"""Percentiles and the printed tables (Markdown, ready to paste into docs/performance.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

MISSING = "\u2013"


def percentile(ordered: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of ascending seconds, in milliseconds."""
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return round(1000 * ordered[index], 2)


def cell(value: Any, fmt: str = "") -> str:
    """One table cell: an en dash for a missing value (as docs/performance.md writes it)."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, str):
        return value
    return format(value, fmt)


def markdown_table(
    columns: Sequence[tuple[str, str, str]], rows: Sequence[Mapping[str, Any]]
) -> str:
    """A Markdown table: `columns` are (header, key, format); text left, numbers right."""
    texts = [[cell(row.get(key), fmt) for _, key, fmt in columns] for row in rows]
    numeric = [
        all(isinstance(row.get(key), int | float) or row.get(key) is None for row in rows)
        for _, key, _ in columns
    ]
    widths = [
        max([len(head), 3, *(len(t[i]) for t in texts)]) for i, (head, _, _) in enumerate(columns)
    ]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        ("-" * (w - 1) + ":") if num else "-" * w for w, num in zip(widths, numeric, strict=True)
    ]
    head = [h for h, _, _ in columns]
    return "\n".join([line(head), "| " + " | ".join(rule) + " |", *(line(t) for t in texts)])
