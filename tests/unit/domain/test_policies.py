"""Renewal policies, the alert routing matrix resolution and profile checks (C1, C2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from certctl.domain.policies import (
    DEFAULT_CHANNEL_MATRIX,
    DEFAULT_SEVERITY_MAP,
    DEFAULT_THRESHOLDS,
    MAX_TTL_SECONDS,
    AlertChannel,
    CertificateProfile,
    KeyAlgorithm,
    KeyAlgorithmRule,
    RenewalPolicy,
    SeverityTier,
    check_policy,
    check_profile,
    effective_alert_channels,
    effective_alert_severity,
    effective_thresholds,
    weakened_controls,
)
from certctl.errors import FieldError, InvalidRequest

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TIERS = "critical, informational, warning"
CHANNELS = "Email, OpsGenie, PagerDuty, Slack, Teams, Webhook"
EMAIL_EVERYWHERE = {"informational": ("Email",), "warning": ("Email",), "critical": ("Email",)}


def _policy(**fields: Any) -> RenewalPolicy:
    return RenewalPolicy(id="rp-1", name="default", created_at=NOW, updated_at=NOW, **fields)


def _profile(**fields: Any) -> CertificateProfile:
    return CertificateProfile(id="cp-1", name="tls", created_at=NOW, updated_at=NOW, **fields)


def _policy_errors(**fields: Any) -> tuple[FieldError, ...]:
    with pytest.raises(InvalidRequest) as caught:
        check_policy(_policy(**fields))
    return caught.value.errors


def _profile_errors(**fields: Any) -> tuple[FieldError, ...]:
    with pytest.raises(InvalidRequest) as caught:
        check_profile(_profile(**fields))
    return caught.value.errors


def test_severity_tiers_are_closed_enum() -> None:
    """Severity tiers are exactly informational, warning and critical."""
    assert [t.value for t in SeverityTier] == ["informational", "warning", "critical"]


def test_alert_channels_are_closed_case_sensitive_enum() -> None:
    """Channels are exactly the six spec spellings."""
    assert [c.value for c in AlertChannel] == [
        "Email",
        "Webhook",
        "Slack",
        "Teams",
        "PagerDuty",
        "OpsGenie",
    ]


def test_default_thresholds() -> None:
    """The default thresholds are 30, 14, 7 and 0 days."""
    assert DEFAULT_THRESHOLDS == (30, 14, 7, 0)


def test_default_severity_map() -> None:
    """The default severity map is 30→informational, 14→warning, 7→warning, 0→critical."""
    assert dict(DEFAULT_SEVERITY_MAP) == {
        30: "informational",
        14: "warning",
        7: "warning",
        0: "critical",
    }


def test_default_channel_matrix_is_email_at_every_tier() -> None:
    """The default matrix routes every tier to Email only."""
    assert dict(DEFAULT_CHANNEL_MATRIX) == EMAIL_EVERYWHERE


def test_renewal_policy_defaults_follow_spec() -> None:
    """A new policy renews 30 days ahead, automatically, 3 retries an hour apart."""
    policy = _policy()
    assert (
        policy.renewal_window_days,
        policy.auto_renew,
        policy.max_retries,
        policy.retry_interval_seconds,
        policy.alert_thresholds_days,
        policy.alert_channels,
        policy.alert_severity_map,
    ) == (30, True, 3, 3600, (30, 14, 7, 0), {}, {})


def test_no_policy_routes_with_default_matrix() -> None:
    """Without a policy the default Email matrix applies."""
    assert dict(effective_alert_channels(None)) == EMAIL_EVERYWHERE


def test_empty_policy_matrix_routes_with_default_matrix() -> None:
    """A policy with an empty matrix falls back to the default Email matrix."""
    assert dict(effective_alert_channels(_policy(alert_channels={}))) == EMAIL_EVERYWHERE


def test_configured_matrix_is_used_as_is() -> None:
    """A configured matrix is returned unchanged, not merged with the defaults."""
    matrix = {"warning": ("Slack", "Email"), "critical": ("PagerDuty", "OpsGenie", "Email")}
    assert effective_alert_channels(_policy(alert_channels=matrix)) is matrix


def test_tier_missing_from_configured_matrix_has_no_channels() -> None:
    """A tier absent from a configured matrix gets no channels, not the default Email."""
    matrix = {"critical": ("PagerDuty",)}
    assert effective_alert_channels(_policy(alert_channels=matrix)).get("informational") is None


def test_empty_tier_list_is_kept_as_opt_out() -> None:
    """An explicit empty list for a tier is preserved (the operator opted out)."""
    matrix = {"informational": (), "critical": ("PagerDuty",)}
    assert effective_alert_channels(_policy(alert_channels=matrix))["informational"] == ()


def test_configured_matrix_keeps_off_enum_channel_for_dispatch_to_drop() -> None:
    """Resolution does not filter channels; an off-enum one is left for dispatch to drop."""
    matrix = {"critical": ("PagerD", "Slack")}
    assert effective_alert_channels(_policy(alert_channels=matrix))["critical"] == (
        "PagerD",
        "Slack",
    )


@pytest.mark.parametrize(
    ("severity_map", "threshold", "tier"),
    [
        ({14: "critical"}, 14, "critical"),
        ({0: "warning"}, 0, "warning"),
        ({60: "warning"}, 60, "warning"),
        ({14: "critical"}, 7, "warning"),
        ({14: "critical"}, 0, "critical"),
        ({14: "critical"}, 30, "informational"),
        ({}, 14, "warning"),
        ({}, 21, "informational"),
        ({14: "critical"}, 90, "informational"),
    ],
)
def test_severity_comes_from_policy_then_default_then_informational(
    severity_map: Mapping[int, str], threshold: int, tier: str
) -> None:
    """The tier for a threshold is the policy's, else the default map's, else informational."""
    assert effective_alert_severity(_policy(alert_severity_map=severity_map), threshold) == tier


@pytest.mark.parametrize(
    ("threshold", "tier"),
    [(30, "informational"), (14, "warning"), (7, "warning"), (0, "critical"), (3, "informational")],
)
def test_severity_without_policy_uses_default_map(threshold: int, tier: str) -> None:
    """Without a policy, the default map applies and unknown thresholds are informational."""
    assert effective_alert_severity(None, threshold) == tier


def test_severity_is_plain_string() -> None:
    """A default-map severity is returned as the plain wire string."""
    assert type(effective_alert_severity(None, 0)) is str


def test_thresholds_default_without_policy() -> None:
    """Without a policy the default thresholds apply, largest first."""
    assert effective_thresholds(None) == (30, 14, 7, 0)


def test_thresholds_default_when_policy_has_none() -> None:
    """A policy with an empty threshold list falls back to the defaults."""
    assert effective_thresholds(_policy(alert_thresholds_days=())) == (30, 14, 7, 0)


def test_thresholds_are_ordered_largest_first() -> None:
    """A policy's thresholds come back sorted from largest to smallest."""
    assert effective_thresholds(_policy(alert_thresholds_days=(7, 60, 0, 30, 14))) == (
        60,
        30,
        14,
        7,
        0,
    )


def test_default_policy_passes_checks() -> None:
    """A policy with every default passes check_policy."""
    assert check_policy(_policy()) is None


def test_fully_configured_valid_policy_passes_checks() -> None:
    """Boundary numbers, a full matrix, an opt-out tier and a severity map are accepted."""
    policy = _policy(
        renewal_window_days=365,
        max_retries=10,
        retry_interval_seconds=60,
        alert_thresholds_days=(365, 30, 0),
        alert_channels={
            "informational": (),
            "warning": ("Slack", "Email"),
            "critical": ("PagerDuty", "OpsGenie", "Teams", "Webhook"),
        },
        alert_severity_map={365: "informational", 0: "critical"},
    )
    assert check_policy(policy) is None


@pytest.mark.parametrize(
    ("name", "value", "low", "high"),
    [
        ("renewal_window_days", 0, 1, 365),
        ("renewal_window_days", 366, 1, 365),
        ("max_retries", -1, 0, 10),
        ("max_retries", 11, 0, 10),
        ("retry_interval_seconds", 59, 60, 86400),
        ("retry_interval_seconds", 86401, 60, 86400),
    ],
)
def test_out_of_range_number_is_refused_naming_field(
    name: str, value: int, low: int, high: int
) -> None:
    """A number outside its spec range is refused on its field with the range and value."""
    assert _policy_errors(**{name: value}) == (
        FieldError(name, f"must be between {low} and {high}, got {value}"),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("renewal_window_days", 1),
        ("renewal_window_days", 365),
        ("max_retries", 0),
        ("max_retries", 10),
        ("retry_interval_seconds", 60),
        ("retry_interval_seconds", 86400),
    ],
)
def test_range_bounds_are_inclusive(name: str, value: int) -> None:
    """Both ends of each numeric range are accepted."""
    assert check_policy(_policy(**{name: value})) is None


@pytest.mark.parametrize(
    ("thresholds", "index", "value"),
    [((-1,), 0, -1), ((30, 366), 1, 366), ((30, 14, 7, -7), 3, -7)],
)
def test_out_of_range_threshold_is_refused_naming_index(
    thresholds: tuple[int, ...], index: int, value: int
) -> None:
    """A threshold outside 0..365 is refused on `alert_thresholds_days[i]`."""
    assert _policy_errors(alert_thresholds_days=thresholds) == (
        FieldError(f"alert_thresholds_days[{index}]", f"must be between 0 and 365, got {value}"),
    )


def test_duplicate_thresholds_are_refused() -> None:
    """Repeated thresholds are refused on `alert_thresholds_days`."""
    assert _policy_errors(alert_thresholds_days=(30, 14, 14, 0)) == (
        FieldError("alert_thresholds_days", "thresholds must be unique"),
    )


def test_off_enum_tier_is_refused_naming_tier() -> None:
    """A matrix key outside the tier enum is refused on `alert_channels.<tier>`."""
    assert _policy_errors(alert_channels={"urgent": ("Email",)}) == (
        FieldError("alert_channels.urgent", f"unknown severity tier 'urgent'; allowed: {TIERS}"),
    )


def test_off_enum_channel_is_refused_naming_tier_and_index() -> None:
    """An off-enum channel such as `PagerD` is refused on `alert_channels.<tier>[i]`."""
    errors = _policy_errors(alert_channels={"critical": ("Email", "PagerD")})
    assert errors[0].field == "alert_channels.critical[1]"
    assert errors == (
        FieldError("alert_channels.critical[1]", f"unknown channel 'PagerD'; allowed: {CHANNELS}"),
    )


@pytest.mark.parametrize("channel", ["email", "SLACK", "pagerduty", "Opsgenie", " Email"])
def test_channel_names_are_case_sensitive(channel: str) -> None:
    """A channel in the wrong case or with padding is off-enum."""
    assert _policy_errors(alert_channels={"warning": (channel,)}) == (
        FieldError(
            "alert_channels.warning[0]", f"unknown channel {channel!r}; allowed: {CHANNELS}"
        ),
    )


def test_off_enum_tier_and_its_channels_are_both_reported() -> None:
    """Channels under an off-enum tier are checked too, after the tier itself."""
    assert [e.field for e in _policy_errors(alert_channels={"Critical": ("Pager",)})] == [
        "alert_channels.Critical",
        "alert_channels.Critical[0]",
    ]


def test_off_enum_severity_is_refused_naming_threshold() -> None:
    """A severity map value outside the tier enum is refused on `alert_severity_map.<T>`."""
    assert _policy_errors(alert_severity_map={7: "severe"}) == (
        FieldError("alert_severity_map.7", f"unknown severity tier 'severe'; allowed: {TIERS}"),
    )


@pytest.mark.parametrize("threshold", [-1, 366])
def test_out_of_range_severity_threshold_is_refused_naming_it(threshold: int) -> None:
    """A severity map keyed by a threshold outside 0..365 is refused on that key."""
    assert _policy_errors(alert_severity_map={threshold: "warning"}) == (
        FieldError(
            f"alert_severity_map.{threshold}",
            f"threshold must be between 0 and 365, got {threshold}",
        ),
    )


def test_severity_threshold_range_is_reported_before_tier() -> None:
    """A key out of range with an off-enum tier reports the range first, then the tier."""
    assert _policy_errors(alert_severity_map={400: "severe"}) == (
        FieldError("alert_severity_map.400", "threshold must be between 0 and 365, got 400"),
        FieldError("alert_severity_map.400", f"unknown severity tier 'severe'; allowed: {TIERS}"),
    )


def test_every_policy_problem_is_reported_in_order() -> None:
    """check_policy collects all problems: numbers, thresholds, matrix, then severity map."""
    with pytest.raises(InvalidRequest) as caught:
        check_policy(
            _policy(
                renewal_window_days=0,
                max_retries=11,
                retry_interval_seconds=1,
                alert_thresholds_days=(400, 400),
                alert_channels={"critical": ("PagerD",)},
                alert_severity_map={0: "urgent"},
            )
        )
    assert [e.field for e in caught.value.errors] == [
        "renewal_window_days",
        "max_retries",
        "retry_interval_seconds",
        "alert_thresholds_days[0]",
        "alert_thresholds_days[1]",
        "alert_thresholds_days",
        "alert_channels.critical[0]",
        "alert_severity_map.0",
    ]


def test_policy_error_detail_joins_field_messages() -> None:
    """The error detail lists each field with its message, separated by semicolons."""
    with pytest.raises(InvalidRequest) as caught:
        check_policy(_policy(max_retries=11, alert_thresholds_days=(1, 1)))
    assert caught.value.detail == (
        "max_retries: must be between 0 and 10, got 11; "
        "alert_thresholds_days: thresholds must be unique"
    )


def test_profile_defaults_follow_spec() -> None:
    """A new profile allows ECDSA ≥ 256 and RSA ≥ 2048, serverAuth, and no TTL limit."""
    profile = _profile()
    assert (profile.allowed_key_algorithms, profile.allowed_ekus, profile.max_ttl_seconds) == (
        (KeyAlgorithmRule("ECDSA", 256), KeyAlgorithmRule("RSA", 2048)),
        ("serverAuth",),
        0,
    )


def test_key_algorithm_values() -> None:
    """Profile key algorithms are ECDSA, RSA and Ed25519."""
    assert [a.value for a in KeyAlgorithm] == ["ECDSA", "RSA", "Ed25519"]


def test_default_profile_passes_checks() -> None:
    """A profile with every default passes check_profile."""
    assert check_profile(_profile()) is None


def test_fully_configured_valid_profile_passes_checks() -> None:
    """Every known algorithm and EKU, valid SAN patterns and a TTL are accepted."""
    profile = _profile(
        allowed_key_algorithms=(
            KeyAlgorithmRule("ECDSA", 384),
            KeyAlgorithmRule("RSA", 3072),
            KeyAlgorithmRule("Ed25519"),
        ),
        allowed_ekus=(
            "serverAuth",
            "clientAuth",
            "codeSigning",
            "emailProtection",
            "timeStamping",
            "OCSPSigning",
        ),
        required_san_patterns=(r"^[a-z0-9-]+\.example\.com$",),
        max_ttl_seconds=86400,
    )
    assert check_profile(profile) is None


def test_unknown_key_algorithm_is_refused_naming_index() -> None:
    """An algorithm outside the enum is refused on `allowed_key_algorithms[i].algorithm`."""
    rules = (KeyAlgorithmRule("ECDSA", 256), KeyAlgorithmRule("DSA", 2048))
    assert _profile_errors(allowed_key_algorithms=rules) == (
        FieldError(
            "allowed_key_algorithms[1].algorithm",
            "unknown algorithm 'DSA'; allowed: ECDSA, Ed25519, RSA",
        ),
    )


def test_unknown_eku_is_refused_naming_index() -> None:
    """An extended key usage outside the known set (case-sensitive) is refused by index."""
    assert _profile_errors(allowed_ekus=("serverAuth", "serverauth")) == (
        FieldError("allowed_ekus[1]", "unknown extended key usage 'serverauth'"),
    )


def test_broken_san_pattern_is_refused_naming_index() -> None:
    """A SAN pattern that is not a valid regex is refused with the compiler's reason."""
    assert _profile_errors(required_san_patterns=(r".*", "(")) == (
        FieldError(
            "required_san_patterns[1]",
            "invalid regex: missing ), unterminated subpattern at position 0",
        ),
    )


@pytest.mark.parametrize("ttl", [-1, MAX_TTL_SECONDS + 1])
def test_out_of_range_ttl_is_refused(ttl: int) -> None:
    """A maximum TTL below 0 or above 100 years is refused on `max_ttl_seconds`."""
    assert _profile_errors(max_ttl_seconds=ttl) == (
        FieldError("max_ttl_seconds", "must be 0 (no limit) up to 3162240000 (100 years)"),
    )


@pytest.mark.parametrize("ttl", [0, 1, MAX_TTL_SECONDS])
def test_ttl_bounds_are_inclusive(ttl: int) -> None:
    """No limit (0), one second and exactly 100 years (of 366 days) are accepted."""
    assert (MAX_TTL_SECONDS, check_profile(_profile(max_ttl_seconds=ttl))) == (3_162_240_000, None)


def test_every_profile_problem_is_reported_in_order() -> None:
    """check_profile collects algorithm, EKU, pattern and TTL problems together."""
    errors = _profile_errors(
        allowed_key_algorithms=(KeyAlgorithmRule("RSA-PSS"),),
        allowed_ekus=("anyPurpose",),
        required_san_patterns=("[",),
        max_ttl_seconds=-5,
    )
    assert [e.field for e in errors] == [
        "allowed_key_algorithms[0].algorithm",
        "allowed_ekus[0]",
        "required_san_patterns[0]",
        "max_ttl_seconds",
    ]


def test_channel_listed_twice_in_a_tier_is_refused() -> None:
    """A tier naming the same channel twice would page twice; it is refused naming the tier."""
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    policy = RenewalPolicy(
        id="rp-1",
        name="p",
        created_at=now,
        updated_at=now,
        alert_channels={"critical": ("Email", "Email")},
    )
    with pytest.raises(InvalidRequest) as caught:
        check_policy(policy)
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("alert_channels.critical", "a channel is listed twice")
    ]


ECDSA_256 = KeyAlgorithmRule("ECDSA", 256)
RSA_2048 = KeyAlgorithmRule("RSA", 2048)
RSA_3072 = KeyAlgorithmRule("RSA", 3072)


@pytest.mark.parametrize(
    ("before", "after", "weakened"),
    [
        ({"requires_approval": True}, {"requires_approval": False}, ("requires_approval",)),
        ({"requires_approval": False}, {"requires_approval": True}, ()),
        ({"must_staple": True}, {"must_staple": False}, ("must_staple",)),
        ({"allow_short_lived": False}, {"allow_short_lived": True}, ("allow_short_lived",)),
        ({"allow_short_lived": True}, {"allow_short_lived": False}, ()),
        ({"max_ttl_seconds": 3600}, {"max_ttl_seconds": 7200}, ("max_ttl_seconds",)),
        ({"max_ttl_seconds": 3600}, {"max_ttl_seconds": 0}, ("max_ttl_seconds",)),
        ({"max_ttl_seconds": 7200}, {"max_ttl_seconds": 3600}, ()),
        ({"max_ttl_seconds": 0}, {"max_ttl_seconds": 3600}, ()),
        (
            {"allowed_key_algorithms": (RSA_3072,)},
            {"allowed_key_algorithms": (RSA_2048,)},
            ("allowed_key_algorithms",),
        ),
        (
            {"allowed_key_algorithms": (RSA_3072,)},
            {"allowed_key_algorithms": (RSA_3072, ECDSA_256)},
            ("allowed_key_algorithms",),
        ),
        (
            {"allowed_key_algorithms": (RSA_2048, RSA_3072)},
            {"allowed_key_algorithms": (RSA_3072,)},
            (),
        ),
        ({"allowed_key_algorithms": ()}, {"allowed_key_algorithms": (ECDSA_256,)}, ()),
        (
            {"allowed_ekus": ("serverAuth",)},
            {"allowed_ekus": ("serverAuth", "clientAuth")},
            ("allowed_ekus",),
        ),
        ({"allowed_ekus": ("serverAuth", "clientAuth")}, {"allowed_ekus": ()}, ()),
        (
            {"required_san_patterns": ("a",)},
            {"required_san_patterns": ()},
            ("required_san_patterns",),
        ),
        (
            {"required_san_patterns": ("a",)},
            {"required_san_patterns": ("a", "b")},
            ("required_san_patterns",),
        ),
        ({"required_san_patterns": ("a", "b")}, {"required_san_patterns": ("a",)}, ()),
        ({"required_san_patterns": ()}, {"required_san_patterns": ("a",)}, ()),
        (
            {"requires_approval": True, "max_ttl_seconds": 60},
            {"requires_approval": False, "max_ttl_seconds": 0, "description": "x"},
            ("requires_approval", "max_ttl_seconds"),
        ),
    ],
)
def test_weakened_controls_names_each_loosened_field(
    before: dict[str, Any], after: dict[str, Any], weakened: tuple[str, ...]
) -> None:
    """Each change that lets the profile issue more, or check less, is named; tightening is not."""
    assert weakened_controls(_profile(**before), _profile(**after)) == weakened


def test_escalation_absent_by_default_and_valid_when_both_set() -> None:
    """No escalation by default; a delay with known channels passes."""
    assert (_policy().escalation_after_minutes, _policy().escalation_channels) == (None, ())
    check_policy(_policy(escalation_after_minutes=10080, escalation_channels=("PagerDuty",)))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"escalation_after_minutes": 0, "escalation_channels": ("Email",)},
            [("escalation_after_minutes", "must be between 1 and 10080, got 0")],
        ),
        (
            {"escalation_after_minutes": 5},
            [("escalation_channels", "required when escalation_after_minutes is set")],
        ),
        (
            {"escalation_channels": ("Email",)},
            [("escalation_after_minutes", "required when escalation_channels is set")],
        ),
        (
            {"escalation_after_minutes": 5, "escalation_channels": ("Email", "Email", "pager")},
            [
                ("escalation_channels", "a channel is listed twice"),
                (
                    "escalation_channels[2]",
                    "unknown channel 'pager'; allowed: Email, OpsGenie, PagerDuty, Slack, "
                    "Teams, Webhook",
                ),
            ],
        ),
    ],
)
def test_invalid_escalation_names_each_field(
    fields: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    """Out-of-range minutes, half a setting, duplicates and unknown channels are refused."""
    assert [(e.field, e.message) for e in _policy_errors(**fields)] == expected
