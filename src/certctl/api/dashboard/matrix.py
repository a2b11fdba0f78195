"""The alert-matrix editor: form fields to a policy's thresholds, tiers and channels, and back.

The editor shows one row per threshold (days and tier) plus empty rows to add more, and a
grid of checkboxes (tier by channel). "Default" leaves the channel matrix empty, which means
Email at every tier; "custom" stores every tier, so an unticked tier has no channels — the
operator's opt-out (SPEC C2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from certctl.domain.policies import (
    DEFAULT_SEVERITY_MAP,
    DEFAULT_THRESHOLDS,
    AlertChannel,
    RenewalPolicy,
    SeverityTier,
    effective_alert_channels,
    effective_alert_severity,
    effective_thresholds,
)
from certctl.domain.thresholds import Threshold, percent_of
from certctl.errors import FieldError

TIERS: tuple[str, ...] = tuple(t.value for t in SeverityTier)
CHANNELS: tuple[str, ...] = tuple(c.value for c in AlertChannel)
BLANK_ROWS = 2


@dataclass(frozen=True)
class ThresholdRow:
    """One editor row: days before expiry and the tier of that alert ('' = blank row)."""

    days: str
    tier: str


@dataclass(frozen=True)
class EffectiveRow:
    """One line of the effective matrix: what fires at a threshold."""

    threshold: Threshold
    tier: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class MatrixForm:
    """The editor's state, from a stored policy or from a submitted form."""

    rows: tuple[ThresholdRow, ...]
    custom: bool
    checked: Mapping[str, frozenset[str]]

    def is_checked(self, tier: str, channel: str) -> bool:
        """Whether the grid shows `channel` ticked for `tier`."""
        return channel in self.checked.get(tier, frozenset())


def from_policy(policy: RenewalPolicy | None) -> MatrixForm:
    """The editor for a stored policy (or the defaults for a new one), with blank rows."""
    thresholds = effective_thresholds(policy) if policy else DEFAULT_THRESHOLDS
    rows = [ThresholdRow(str(t), effective_alert_severity(policy, t)) for t in thresholds]
    custom = bool(policy and policy.alert_channels)
    matrix = effective_alert_channels(policy)
    checked = {tier: frozenset(matrix.get(tier, ())) for tier in TIERS}
    return MatrixForm(rows=_with_blanks(rows), custom=custom, checked=checked)


def _with_blanks(rows: Sequence[ThresholdRow]) -> tuple[ThresholdRow, ...]:
    return (*rows, *(ThresholdRow("", "") for _ in range(BLANK_ROWS)))


def from_form(
    days: Sequence[str], tiers: Sequence[str], mode: str, grid: Mapping[str, Sequence[str]]
) -> MatrixForm:
    """The editor as submitted (kept to show it again next to any errors)."""
    rows = [ThresholdRow(d.strip(), t) for d, t in zip(days, tiers, strict=False) if d.strip()]
    checked = {tier: frozenset(grid.get(tier, ())) for tier in TIERS}
    return MatrixForm(rows=_with_blanks(rows), custom=mode == "custom", checked=checked)


def to_fields(form: MatrixForm) -> tuple[dict[str, Any], tuple[FieldError, ...]]:
    """Policy fields (thresholds, severity map, channel matrix) and any row errors."""
    thresholds: list[Threshold] = []
    severity: dict[str, str] = {}
    errors: list[FieldError] = []
    for index, row in enumerate(r for r in form.rows if r.days):
        value: Threshold
        if percent_of(row.days) is not None:
            value = row.days
        else:
            try:
                value = int(row.days)
            except ValueError:
                message = f'{row.days!r} is not a whole number of days or a percentage like "33%"'
                errors.append(FieldError(f"alert_thresholds_days[{index}]", message))
                continue
        thresholds.append(value)
        default = DEFAULT_SEVERITY_MAP.get(value, "informational") if isinstance(value, int) else ""
        severity[str(value)] = row.tier or default or "informational"
    errors.extend(_duplicates([r.days for r in form.rows if r.days]))
    channels: dict[str, list[str]] = {}
    if form.custom:
        channels = {t: [c for c in CHANNELS if form.is_checked(t, c)] for t in TIERS}
    fields = {
        "alert_thresholds_days": thresholds,
        "alert_severity_map": severity,
        "alert_channels": channels,
    }
    return fields, tuple(errors)


def _duplicates(days: Sequence[str]) -> list[FieldError]:
    """An error on every row whose threshold another row repeats (not only the second)."""
    rows: dict[str, list[int]] = {}
    for index, value in enumerate(days):
        rows.setdefault(value.lstrip("0") or "0", []).append(index)
    errors = []
    for value, indexes in rows.items():
        if len(indexes) > 1:
            shown = ", ".join(str(i + 1) for i in indexes)
            unit = "" if value.endswith("%") else " days"
            message = f"{value}{unit} is listed in rows {shown}: each threshold once"
            errors += [FieldError(f"alert_thresholds_days[{i}]", message) for i in indexes]
    return errors


def effective(policy: RenewalPolicy | None) -> tuple[EffectiveRow, ...]:
    """What fires at each threshold of `policy`, largest first (the resolution of SPEC C2)."""
    matrix = effective_alert_channels(policy)
    rows = []
    for threshold in effective_thresholds(policy):
        tier = effective_alert_severity(policy, threshold)
        rows.append(EffectiveRow(threshold, tier, tuple(matrix.get(tier, ()))))
    return tuple(rows)
