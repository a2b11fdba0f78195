"""Form errors in the words of the labels people see."""

from __future__ import annotations

import pytest

from certctl.api.dashboard.forms import errors_of, label_of
from certctl.errors import FieldError, InvalidRequest

LABELS = {"alert_thresholds_days": "Thresholds", "renewal_window_days": "Renewal window"}


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("renewal_window_days", "Renewal window"),
        ("alert_thresholds_days[2]", "Thresholds, row 3"),
        ("alert_thresholds_days.0", "Thresholds, row 1"),
        ("config.api_url", "Config api url"),
    ],
)
def test_a_field_path_reads_as_its_label(field: str, label: str) -> None:
    """Known fields take their label, list positions become rows, others are spelled out."""
    assert label_of(field, LABELS) == label


def test_the_page_message_names_labels_not_fields() -> None:
    """The message above a refused form lists each problem by label; fields keep their paths."""
    exc = InvalidRequest.many(
        (
            FieldError("renewal_window_days", "must be 1-365"),
            FieldError("alert_thresholds_days[1]", "'x' is not a whole number"),
        )
    )
    fields, message = errors_of(exc, LABELS)
    assert fields == {
        "renewal_window_days": "must be 1-365",
        "alert_thresholds_days[1]": "'x' is not a whole number",
    }
    assert message == (
        "Nothing was saved. Check the fields marked below — Renewal window: must be 1-365; "
        "Thresholds, row 2: 'x' is not a whole number."
    )
