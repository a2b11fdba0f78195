"""The alert-matrix editor: from a policy to the form, from the form to policy fields."""

from __future__ import annotations

from certctl.api.dashboard.matrix import (
    BLANK_ROWS,
    EffectiveRow,
    ThresholdRow,
    effective,
    from_form,
    from_policy,
    to_fields,
)
from certctl.domain.policies import RenewalPolicy
from certctl.errors import FieldError
from certctl.testing.clock import TEST_EPOCH


def _policy(**fields: object) -> RenewalPolicy:
    return RenewalPolicy(
        id="rp-1",
        name="p",
        created_at=TEST_EPOCH,
        updated_at=TEST_EPOCH,
        **fields,  # type: ignore[arg-type]
    )


def test_new_policy_editor_shows_the_defaults() -> None:
    """A new policy starts from [30, 14, 7, 0] with default tiers, Email everywhere, blanks."""
    editor = from_policy(None)
    assert editor.rows == (
        ThresholdRow("30", "informational"),
        ThresholdRow("14", "warning"),
        ThresholdRow("7", "warning"),
        ThresholdRow("0", "critical"),
        *([ThresholdRow("", "")] * BLANK_ROWS),
    )
    assert not editor.custom
    assert editor.is_checked("critical", "Email")
    assert not editor.is_checked("critical", "Slack")


def test_stored_matrix_is_shown_as_is() -> None:
    """A configured matrix shows its ticks; a tier left out of it has none."""
    editor = from_policy(
        _policy(alert_thresholds_days=(7,), alert_channels={"critical": ("PagerDuty",)})
    )
    assert editor.custom
    assert editor.is_checked("critical", "PagerDuty")
    assert not editor.is_checked("warning", "Email")


def test_form_becomes_policy_fields() -> None:
    """Rows give thresholds and tiers (blank tier = default); custom mode stores every tier."""
    editor = from_form(
        ["21", " 3 ", "", "0"],
        ["warning", "", "", "critical"],
        "custom",
        {"critical": ["PagerDuty", "Email"]},
    )
    fields, errors = to_fields(editor)
    assert errors == ()
    assert fields == {
        "alert_thresholds_days": [21, 3, 0],
        "alert_severity_map": {"21": "warning", "3": "informational", "0": "critical"},
        "alert_channels": {
            "informational": [],
            "warning": [],
            "critical": ["Email", "PagerDuty"],
        },
    }


def test_default_mode_stores_no_matrix() -> None:
    """Default mode stores an empty matrix, whatever boxes are ticked."""
    fields, _ = to_fields(from_form(["7"], [""], "default", {"warning": ["Slack"]}))
    assert fields["alert_channels"] == {}
    assert fields["alert_severity_map"] == {"7": "warning"}


def test_a_threshold_that_is_not_a_number_is_named() -> None:
    """A row that does not parse is reported by its position."""
    _, errors = to_fields(from_form(["7", "soon"], ["", ""], "default", {}))
    message = "'soon' is not a whole number of days or a percentage like \"33%\""
    assert errors == (FieldError("alert_thresholds_days[1]", message),)


def test_a_percentage_row_keeps_its_text_and_tier() -> None:
    """A "33%" row is stored as the text "33%" with its tier (informational when left blank)."""
    fields, errors = to_fields(from_form(["7", "33%", "10%"], ["", "warning", ""], "default", {}))
    assert errors == ()
    assert fields["alert_thresholds_days"] == [7, "33%", "10%"]
    assert fields["alert_severity_map"] == {
        "7": "warning",
        "33%": "warning",
        "10%": "informational",
    }


def test_every_row_of_a_duplicate_threshold_is_named() -> None:
    """Both rows holding 14 (written 14 and 014) get the error, not only the second."""
    _, errors = to_fields(from_form(["14", "7", "014"], ["", "", ""], "default", {}))
    message = "14 days is listed in rows 1, 3: each threshold once"
    assert errors == (
        FieldError("alert_thresholds_days[0]", message),
        FieldError("alert_thresholds_days[2]", message),
    )


def test_effective_matrix_resolves_tiers_and_channels() -> None:
    """The effective rows follow SPEC C2: policy tier, then default, and the tier's channels."""
    policy = _policy(
        alert_thresholds_days=(0, 30, 5),
        alert_severity_map={5: "critical"},
        alert_channels={"critical": ("PagerDuty",), "informational": ()},
    )
    assert effective(policy) == (
        EffectiveRow(30, "informational", ()),
        EffectiveRow(5, "critical", ("PagerDuty",)),
        EffectiveRow(0, "critical", ("PagerDuty",)),
    )
