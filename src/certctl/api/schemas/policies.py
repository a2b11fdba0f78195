"""Schemas of renewal policies (with the alert matrix) and certificate profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, PlainValidator, StrictBool, StrictInt, StrictStr

from certctl.api.schemas.common import Description, In, Name, Out, ResourceId
from certctl.domain.thresholds import percent_of

# Strict types: JSON `true` or `"30"` where a number is due is refused, not coerced (C10).


def _threshold(value: object) -> int | str:
    """Whole days (a JSON integer) or a percentage written "33%" (C3); ranges are the
    domain's to check, so every range error reads the same wherever the policy came from."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError('must be whole days or a percentage like "33%"')
    if isinstance(value, str) and percent_of(value) is None:
        raise ValueError('must be whole days or a percentage like "33%"')
    return value


Threshold = Annotated[int | str, PlainValidator(_threshold, json_schema_input_type=int | str)]
Thresholds = list[Threshold]
Matrix = dict[str, list[StrictStr]]
# JSON object keys are always strings; the thresholds they name are parsed from them.
SeverityMap = dict[str, StrictStr]

_MATRIX_DOC = (
    'Channels per severity tier, e.g. {"critical": ["PagerDuty", "Email"]}. '
    "Tiers: informational, warning, critical. Channels: Email, Webhook, Slack, Teams, "
    "PagerDuty, OpsGenie. Empty or absent = Email at every tier; a tier left out of a "
    "configured matrix gets no channels."
)

_ESCALATION_DOC = (
    "Minutes (1-10080) a critical alert may stay unacknowledged before it escalates to "
    "escalation_channels; absent = no escalation."
)


class PolicyIn(In):
    """A new renewal policy."""

    id: ResourceId | None = None
    name: Name
    description: Description = ""
    renewal_window_days: StrictInt = 30
    auto_renew: StrictBool = True
    max_retries: StrictInt = 3
    retry_interval_seconds: StrictInt = 3600
    alert_thresholds_days: Thresholds = Field(
        default_factory=lambda: list[int | str]([30, 14, 7, 0]), max_length=32
    )
    alert_channels: Matrix | None = Field(default=None, description=_MATRIX_DOC)
    alert_severity_map: SeverityMap | None = Field(
        default=None, description='Tier per threshold, e.g. {"7": "critical", "10%": "warning"}.'
    )
    certificate_profile_id: ResourceId | None = None
    agent_group_id: ResourceId | None = None
    escalation_after_minutes: StrictInt | None = Field(default=None, description=_ESCALATION_DOC)
    escalation_channels: list[StrictStr] = Field(default_factory=list, max_length=6)


class PolicyPatch(In):
    """Fields of a renewal policy to change."""

    name: Name | None = None
    description: Description | None = None
    renewal_window_days: StrictInt | None = None
    auto_renew: StrictBool | None = None
    max_retries: StrictInt | None = None
    retry_interval_seconds: StrictInt | None = None
    alert_thresholds_days: Thresholds | None = Field(default=None, max_length=32)
    alert_channels: Matrix | None = Field(default=None, description=_MATRIX_DOC)
    alert_severity_map: SeverityMap | None = None
    certificate_profile_id: ResourceId | None = None
    agent_group_id: ResourceId | None = None
    escalation_after_minutes: StrictInt | None = Field(default=None, description=_ESCALATION_DOC)
    escalation_channels: list[StrictStr] | None = Field(default=None, max_length=6)


class PolicyOut(Out):
    """A renewal policy."""

    id: str
    name: str
    description: str
    renewal_window_days: StrictInt
    auto_renew: StrictBool
    max_retries: StrictInt
    retry_interval_seconds: StrictInt
    alert_thresholds_days: list[int | str]
    alert_channels: dict[str, list[str]]
    alert_severity_map: dict[int | str, str]
    certificate_profile_id: str | None
    agent_group_id: str | None
    escalation_after_minutes: StrictInt | None
    escalation_channels: list[str]
    created_at: datetime
    updated_at: datetime


class KeyRule(In):
    """An allowed key algorithm and its minimum size in bits."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    algorithm: StrictStr = Field(description="ECDSA, RSA or Ed25519.")
    min_size: StrictInt = Field(default=0, ge=0, le=16384)


class ProfileIn(In):
    """A new certificate profile."""

    id: ResourceId | None = None
    name: Name
    description: Description = ""
    allowed_key_algorithms: list[KeyRule] = Field(
        default_factory=lambda: [
            KeyRule(algorithm="ECDSA", min_size=256),
            KeyRule(algorithm="RSA", min_size=2048),
        ],
        max_length=8,
    )
    max_ttl_seconds: StrictInt = Field(default=0, description="0 = no limit.")
    allowed_ekus: list[StrictStr] = Field(default_factory=lambda: ["serverAuth"], max_length=8)
    required_san_patterns: list[StrictStr] = Field(default_factory=list, max_length=32)
    must_staple: StrictBool = False
    allow_short_lived: StrictBool = False
    requires_approval: StrictBool = False
    preset: StrictStr = Field(
        default="",
        max_length=32,
        description="`cabf-serverauth`: certificate policies, at most 398 days, public names only.",
    )


class ProfilePatch(In):
    """Fields of a certificate profile to change."""

    name: Name | None = None
    description: Description | None = None
    allowed_key_algorithms: list[KeyRule] | None = Field(default=None, max_length=8)
    max_ttl_seconds: StrictInt | None = None
    allowed_ekus: list[StrictStr] | None = Field(default=None, max_length=8)
    required_san_patterns: list[StrictStr] | None = Field(default=None, max_length=32)
    must_staple: StrictBool | None = None
    allow_short_lived: StrictBool | None = None
    requires_approval: StrictBool | None = None
    preset: StrictStr | None = Field(default=None, max_length=32)


class ProfileOut(Out):
    """A certificate profile."""

    id: str
    name: str
    description: str
    allowed_key_algorithms: list[KeyRule]
    max_ttl_seconds: StrictInt
    allowed_ekus: list[str]
    required_san_patterns: list[str]
    must_staple: StrictBool
    allow_short_lived: StrictBool
    requires_approval: StrictBool
    preset: str
    created_at: datetime
    updated_at: datetime
