"""Server settings from CERTCTL_* environment variables, parsed once by the entry points."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from certctl.domain.access import Principal, parse_named_keys
from certctl.domain.inventory import check_email
from certctl.errors import CertctlError, ConfigurationError

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

    # Scheduler loops (C12): seconds between ticks.
    scheduler_enabled: bool = True
    scheduler_renewal_check_interval: float = Field(default=3600, gt=0)
    notification_dispatch_interval: float = Field(default=5, gt=0)
    notification_retry_interval: float = Field(default=120, gt=0)
    scheduler_job_processor_interval: float = Field(default=30, gt=0)
    scheduler_job_timeout_interval: float = Field(default=600, gt=0)
    # How long a replica holds a claimed job before another may reclaim it (C12, C14).
    job_lease_seconds: float = Field(default=300, ge=1, le=86400)

    # Where private keys are generated (C5): `agent` (the agent, or whoever submits the CSR)
    # or `server`, a demo-only mode in which certctl generates the key itself.
    keygen_mode: Literal["agent", "server"] = "agent"

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
        for address in self.extra_recipients():
            try:
                check_email(address, field="CERTCTL_SMTP_EXTRA_RECIPIENTS")
            except CertctlError as exc:
                raise ValueError(f"CERTCTL_SMTP_EXTRA_RECIPIENTS: {exc.detail}") from exc
        key = self.config_encryption_key
        if key is not None and not self.demo_mode_ack:
            value = key.get_secret_value()
            if value.lower() in _PLACEHOLDERS or len(value) < 16:
                raise ValueError(
                    "CERTCTL_CONFIG_ENCRYPTION_KEY must be a real secret of 16+ characters"
                )
        return self

    def extra_recipients(self) -> list[str]:
        """Addresses every Email alert also goes to (CERTCTL_SMTP_EXTRA_RECIPIENTS, comma-separated)."""
        return [a.strip() for a in self.smtp_extra_recipients.split(",") if a.strip()]

    def named_keys(self) -> dict[str, Principal]:
        """The API keys configured in CERTCTL_API_KEYS_NAMED, by key hash."""
        return parse_named_keys(self.api_keys_named.get_secret_value(), demo=self.demo_mode_ack)

    @property
    def tls_enabled(self) -> bool:
        """Whether the server speaks HTTPS."""
        return self.server_tls_cert_path is not None


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning validation errors into one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = (
                "CERTCTL_" + "_".join(str(p) for p in error["loc"]).upper() if error["loc"] else ""
            )
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if name else message)
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from exc
