"""Server settings from CERTCTL_* environment variables and an optional TOML file, parsed once
by the entry points."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from certctl.domain.access import Principal, parse_named_keys
from certctl.domain.alert_lifecycle import DEFAULT_KIND_TIERS, AlertingRules, kind_tier_errors
from certctl.domain.inventory import check_email
from certctl.domain.policies import AlertChannel
from certctl.domain.ratelimit_windows import ChannelRateLimit
from certctl.errors import CertctlError, ConfigurationError, InvalidRequest

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_PLACEHOLDERS = frozenset(
    {"change-me", "changeme", "change_me", "secret", "password", "example", "replace-me"}
)


class Settings(BaseSettings):
    """Everything the server reads from its environment (see docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="CERTCTL_", extra="ignore")

    server_host: str = "127.0.0.1"
    server_port: int = Field(default=8443, ge=1, le=65535)
    server_workers: int = Field(default=1, ge=1, le=64)
    server_tls_cert_path: Path | None = None
    server_tls_key_path: Path | None = None
    # Plain HTTP beyond loopback only when a proxy in front terminates TLS (C10).
    server_tls_terminated_by_proxy: bool = False
    server_forwarded_allow_ips: str = "127.0.0.1"
    # Half-sent requests are closed: headers and body must arrive within these (C10).
    server_header_timeout_seconds: float = Field(default=10, gt=0, le=600)
    server_body_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    database_url: str = "sqlite+aiosqlite:///./var/certctl.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    auth_type: Literal["api-key", "none"] = "api-key"
    api_keys_named: SecretStr = SecretStr("")
    demo_mode_ack: bool = False
    config_encryption_key: SecretStr | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    public_url: str | None = None

    # Notification channels configured from the environment (C4); channels may also be
    # stored in the database through /api/v1/notification-channels.
    allow_private_targets: bool = False
    notification_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    notification_concurrency: int = Field(default=25, ge=1, le=1000)
    # Per-channel caps under the overall one, e.g. {"Teams": 5}: a slow endpoint then holds
    # only its own slots, never the other channels' (C4).
    notification_channel_concurrency: dict[str, int] = Field(default_factory=dict)
    # Per-channel rate limits, e.g. {"Slack": {"per_minute": 10, "per_hour": 100}}: deliveries
    # over a limit are folded into one digest per channel sent when the window reopens (C3).
    notification_rate_limits: dict[str, dict[str, int]] = Field(default_factory=dict)
    slack_webhook_url: SecretStr | None = None
    slack_channel: str | None = None
    slack_username: str | None = None
    teams_webhook_url: SecretStr | None = None
    teams_format: Literal["workflows", "messagecard"] = "workflows"
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    opsgenie_api_key: SecretStr | None = None
    opsgenie_api_url: str = "https://api.opsgenie.com"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from_address: str | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_extra_recipients: str = ""

    # Alerts as objects (C3): the tier of alerts without a threshold, which environment-set
    # channels send a "resolved" notice, and how long a renewal may run late before `overdue`.
    alert_kind_tiers: dict[str, str] = Field(default_factory=dict)
    alert_send_resolved: str = "PagerDuty,OpsGenie"
    alert_overdue_grace_hours: int = Field(default=24, ge=0, le=24 * 365)

    # Scheduler loops (C12): seconds between ticks.
    scheduler_enabled: bool = True
    scheduler_renewal_check_interval: float = Field(default=3600, gt=0)
    notification_dispatch_interval: float = Field(default=5, gt=0)
    notification_retry_interval: float = Field(default=120, gt=0)
    scheduler_job_processor_interval: float = Field(default=30, gt=0)
    scheduler_job_timeout_interval: float = Field(default=600, gt=0)
    audit_verify_interval: float = Field(default=3600, gt=0)
    # Discovery and drift (C8): network scans and drift checks probe with these bounds; the
    # SSRF guard allows loopback and private ranges only with CERTCTL_ALLOW_PRIVATE_TARGETS.
    discovery_scan_interval: float = Field(default=30, gt=0)
    discovery_scan_concurrency: int = Field(default=64, ge=1, le=1024)
    discovery_probe_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    drift_check_interval: float = Field(default=3600, gt=0)

    # Rate limits (C10): per API key after authentication, per client address for failed
    # authentications and failed sign-ins, and a per-account sign-in back-off. 0 = off.
    rate_limit_api_key_per_minute: int = Field(default=3000, ge=0)
    rate_limit_address_per_minute: int = Field(default=60, ge=0)
    signin_backoff_after: int = Field(default=5, ge=0)
    signin_backoff_base_seconds: float = Field(default=30, gt=0)
    signin_backoff_max_seconds: float = Field(default=3600, gt=0)

    # How long a replica holds a claimed job before another may reclaim it (C12, C14).
    job_lease_seconds: float = Field(default=300, ge=1, le=86400)

    # Where private keys are generated (C5): `agent` (the agent, or whoever submits the CSR)
    # or `server`, a demo-only mode in which certctl generates the key itself.
    keygen_mode: Literal["agent", "server"] = "agent"

    # Agents (C7): registration needs this token outside demo mode; the health loop marks
    # agents Offline after three missed heartbeats and fails their stalled jobs.
    agent_bootstrap_token: SecretStr | None = None
    scheduler_agent_health_interval: float = Field(default=60, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.auth_type == "none" and not self.demo_mode_ack:
            raise ValueError("CERTCTL_AUTH_TYPE=none requires CERTCTL_DEMO_MODE_ACK=true")
        if self.keygen_mode == "server" and not self.demo_mode_ack:
            raise ValueError(
                "CERTCTL_KEYGEN_MODE=server generates private keys on the server; "
                "it is for demos only and requires CERTCTL_DEMO_MODE_ACK=true"
            )
        if (self.server_tls_cert_path is None) != (self.server_tls_key_path is None):
            raise ValueError(
                "CERTCTL_SERVER_TLS_CERT_PATH and CERTCTL_SERVER_TLS_KEY_PATH go together"
            )
        if self.server_workers > 1 and self.database_url.startswith("sqlite"):
            raise ValueError("CERTCTL_SERVER_WORKERS above 1 needs PostgreSQL, not SQLite")
        try:
            self.named_keys()
        except ConfigurationError as exc:
            raise ValueError(exc.detail) from exc
        for channel, limit in self.notification_channel_concurrency.items():
            if channel not in {c.value for c in AlertChannel}:
                raise ValueError(
                    f"CERTCTL_NOTIFICATION_CHANNEL_CONCURRENCY: unknown channel {channel!r}"
                )
            if not 1 <= limit <= 1000:
                raise ValueError(
                    f"CERTCTL_NOTIFICATION_CHANNEL_CONCURRENCY: {channel} must be 1 to 1000"
                )
        self._check_alerting()
        self._check_rate_limits()
        for address in self.extra_recipients():
            try:
                check_email(address, field="CERTCTL_SMTP_EXTRA_RECIPIENTS")
            except CertctlError as exc:
                raise ValueError(f"CERTCTL_SMTP_EXTRA_RECIPIENTS: {exc.detail}") from exc
        self._check_secrets()
        return self

    def _check_secrets(self) -> None:
        """Refuse placeholder secrets outside demo mode."""
        token = self.agent_bootstrap_token
        if token is not None and not self.demo_mode_ack and len(token.get_secret_value()) < 16:
            raise ValueError(
                "CERTCTL_AGENT_BOOTSTRAP_TOKEN must be a real secret of 16+ characters"
            )
        key = self.config_encryption_key
        if key is not None and not self.demo_mode_ack:
            value = key.get_secret_value()
            if value.lower() in _PLACEHOLDERS or len(value) < 16:
                raise ValueError(
                    "CERTCTL_CONFIG_ENCRYPTION_KEY must be a real secret of 16+ characters"
                )

    def _check_rate_limits(self) -> None:
        for channel, value in self.notification_rate_limits.items():
            if channel not in {c.value for c in AlertChannel}:
                raise ValueError(f"CERTCTL_NOTIFICATION_RATE_LIMITS: unknown channel {channel!r}")
            try:
                ChannelRateLimit.parse(channel, value)
            except InvalidRequest as exc:
                raise ValueError(
                    f"CERTCTL_NOTIFICATION_RATE_LIMITS: {exc.field}: {exc.detail}"
                ) from exc

    def extra_recipients(self) -> list[str]:
        """Addresses every Email alert also goes to (CERTCTL_SMTP_EXTRA_RECIPIENTS, comma-separated)."""
        return [a.strip() for a in self.smtp_extra_recipients.split(",") if a.strip()]

    def _check_alerting(self) -> None:
        problems = kind_tier_errors(self.alert_kind_tiers)
        if problems:
            first = problems[0]
            raise ValueError(f"CERTCTL_ALERT_KIND_TIERS: {first.field}: {first.message}")
        for channel in self.send_resolved_channels():
            if channel not in {c.value for c in AlertChannel}:
                raise ValueError(f"CERTCTL_ALERT_SEND_RESOLVED: unknown channel {channel!r}")

    def send_resolved_channels(self) -> frozenset[str]:
        """Environment-set channels that send a notice when an alert resolves."""
        return frozenset(c.strip() for c in self.alert_send_resolved.split(",") if c.strip())

    def alerting(self) -> AlertingRules:
        """The alerting rules services share (C3)."""
        return AlertingRules(
            kind_tiers={**DEFAULT_KIND_TIERS, **self.alert_kind_tiers},
            send_resolved=self.send_resolved_channels(),
            overdue_grace=timedelta(hours=self.alert_overdue_grace_hours),
            public_url=self.public_url.rstrip("/") if self.public_url else None,
            extra_recipients=tuple(self.extra_recipients()),
        )

    def named_keys(self) -> dict[str, Principal]:
        """The API keys configured in CERTCTL_API_KEYS_NAMED, by key hash."""
        return parse_named_keys(self.api_keys_named.get_secret_value(), demo=self.demo_mode_ack)

    def plain_http_refusal(self) -> str | None:
        """Why serving would be refused: plain HTTP beyond loopback with no TLS proxy stated."""
        if self.tls_enabled or self.server_tls_terminated_by_proxy or is_loopback(self.server_host):
            return None
        return (
            f"refusing to serve plain HTTP on {self.server_host}: set CERTCTL_SERVER_TLS_CERT_PATH "
            "and CERTCTL_SERVER_TLS_KEY_PATH, or CERTCTL_SERVER_TLS_TERMINATED_BY_PROXY=true "
            "when a proxy in front terminates TLS"
        )

    @property
    def tls_enabled(self) -> bool:
        """Whether the server speaks HTTPS."""
        return self.server_tls_cert_path is not None


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


CONFIG_FILE_VARIABLE = "CERTCTL_CONFIG_FILE"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the TOML file named by CERTCTL_CONFIG_FILE (if any) and the
    environment, the environment winning; validation errors become one clear message."""
    path = os.environ.get(CONFIG_FILE_VARIABLE)
    values = {**_file_values(Path(path)), **overrides} if path else dict(overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = (
                "CERTCTL_" + "_".join(str(p) for p in error["loc"]).upper() if error["loc"] else ""
            )
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if name else message)
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from exc


def _file_values(path: Path) -> dict[str, Any]:
    """The file's settings that no CERTCTL_* environment variable overrides.

    Keys are the variable names without the prefix, in lower case (`server_host = "::1"`);
    an unknown key is an error, since a file, unlike an environment, is written for certctl.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"config file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(document) - set(Settings.model_fields))
    if unknown:
        raise ConfigurationError(f"config file {path}: unknown setting {unknown[0]!r}")
    from_env = {name.upper() for name in os.environ}
    return {k: v for k, v in document.items() if f"CERTCTL_{k.upper()}" not in from_env}
