"""The notifier contract: a pure `render` and an I/O `deliver`, wrapped once for all channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from certctl.domain.alerts import AlertMessage


@dataclass(frozen=True)
class Rendered:
    """What a notifier will send: for HTTP channels a JSON body and headers; for Email a MIME text."""

    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""
    """Where under the channel's API this goes, when not its one endpoint (OpsGenie close)."""


@dataclass(frozen=True)
class Receipt:
    """Proof of delivery the channel gave back (Slack ts, PagerDuty dedup_key, SMTP id...)."""

    detail: str


class Notifier(Protocol):
    """One configured channel instance."""

    channel: str

    def render(self, message: AlertMessage) -> Rendered:
        """Build the exact payload for `message` (pure: no I/O, no clock, no randomness)."""
        ...

    async def deliver(self, rendered: Rendered) -> Receipt:
        """Send it; raise certctl.errors.ConnectorError with a readable reason on failure."""
        ...
