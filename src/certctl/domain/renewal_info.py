"""ACME Renewal Information (ARI, RFC 9773): certificate ids, suggested windows, when to ask.

Pure rules: the certID of a certificate from its AKI key identifier and serial (section 4.1),
the suggested window as the CA sends it (section 4.2), when to ask the CA again from its
Retry-After (section 4.3), and when to renew: a uniformly random moment inside the window,
or at once when that moment has passed.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from certctl.errors import InvalidRequest

DEFAULT_RETRY_AFTER = timedelta(hours=6)
"""How long to wait before asking again when the CA sends no Retry-After (section 4.3)."""
MIN_RETRY_AFTER = timedelta(minutes=1)
MAX_RETRY_AFTER = timedelta(days=1)
"""Section 4.3 advises limits on the checking interval: under a minute counts as a minute,
over a day as a day (a CA cannot silence the checks for weeks, nor have them hammer it)."""
RETRY_AFTER_ERROR = timedelta(hours=1)
"""How long to wait after a failed check when the CA said nothing about it."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def serial_der_bytes(serial: int) -> bytes:
    """The content octets of the serial's DER INTEGER (two's complement, minimal length)."""
    if serial < 0:
        raise InvalidRequest("a certificate serial number is positive", field="serial_number")
    # One spare bit for the sign: 0x87654321 encodes as 00 87 65 43 21 (RFC 5280 4.1.2.2).
    return serial.to_bytes(serial.bit_length() // 8 + 1, "big")


def ari_cert_id(key_identifier: bytes, serial: int) -> str:
    """The ARI certID: base64url(AKI keyIdentifier) "." base64url(serial), unpadded (4.1)."""
    if not key_identifier:
        raise InvalidRequest(
            "the certificate has no Authority Key Identifier key id; ARI cannot name it",
            field="pem",
        )
    return f"{_b64url(key_identifier)}.{_b64url(serial_der_bytes(serial))}"


@dataclass(frozen=True)
class SuggestedWindow:
    """The CA's suggested renewal window (section 4.2): renew between `start` and `end`."""

    start: datetime
    end: datetime
    explanation_url: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise TypeError("window times must be timezone-aware")
        if self.end <= self.start:
            raise InvalidRequest("the suggested window ends before it starts", field="end")


def _rfc3339(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest(f"suggestedWindow.{field} must be an RFC 3339 string", field=field)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest(
            f"suggestedWindow.{field} is not RFC 3339: {value!r}", field=field
        ) from exc
    if parsed.tzinfo is None:
        raise InvalidRequest(f"suggestedWindow.{field} has no UTC offset", field=field)
    return parsed.astimezone(UTC)


def parse_renewal_info(document: object) -> SuggestedWindow:
    """The window of a RenewalInfo object (section 4.2); raise naming what is malformed."""
    if not isinstance(document, Mapping):
        raise InvalidRequest("a RenewalInfo answer is a JSON object", field="renewalInfo")
    window = document.get("suggestedWindow")
    if not isinstance(window, Mapping):
        raise InvalidRequest("the RenewalInfo has no suggestedWindow", field="suggestedWindow")
    explanation = document.get("explanationURL")
    # Shown as a link on the dashboard: only an http(s) URL is kept (no javascript: URLs).
    web = isinstance(explanation, str) and explanation.startswith(("https://", "http://"))
    return SuggestedWindow(
        start=_rfc3339(window.get("start"), "start"),
        end=_rfc3339(window.get("end"), "end"),
        explanation_url=explanation if web and isinstance(explanation, str) else None,
    )


def _retry_delay(header: str, now: datetime) -> timedelta | None:
    """Retry-After as RFC 9110 section 10.2.3 gives it: delay-seconds or an HTTP-date."""
    text = header.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when - now


def next_check_at(
    retry_after: str | None, now: datetime, *, default: timedelta = DEFAULT_RETRY_AFTER
) -> datetime:
    """When to ask for the renewal info again: Retry-After (or `default`), clamped (4.3.3)."""
    delay = _retry_delay(retry_after, now) if retry_after else None
    if delay is None:
        delay = default
    return now + min(max(delay, MIN_RETRY_AFTER), MAX_RETRY_AFTER)


def choose_renewal_time(
    window: SuggestedWindow,
    now: datetime,
    fraction: float,
    *,
    previous: tuple[SuggestedWindow, datetime] | None = None,
) -> datetime:
    """When to renew: a uniformly random moment in the window (`fraction` in [0, 1)), or now
    once the window has ended (section 4.2). A moment chosen earlier for the same window is
    kept: choosing again at every check would pull renewals towards the window's start."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError("fraction must be in [0, 1)")
    if window.end <= now:
        return now
    if previous is not None and previous[0] == window:
        return previous[1]
    return window.start + (window.end - window.start) * fraction


@dataclass(frozen=True)
class RenewalInfoState:
    """What certctl knows of a certificate's ARI: the last window, or why it has none."""

    certificate_id: str
    ari_cert_id: str
    checked_at: datetime
    next_check_at: datetime
    window: SuggestedWindow | None = None
    renew_at: datetime | None = None
    last_error: str | None = None

    @property
    def usable(self) -> bool:
        """Tell whether the window governs renewal (a failed check falls back to the policy)."""
        return self.window is not None and self.renew_at is not None and self.last_error is None


def renewal_due(
    *, policy_due: bool, ari: RenewalInfoState | None, now: datetime, lookahead: timedelta
) -> bool:
    """Tell whether to open the renewal job now: the ARI moment when a usable window is
    known (`lookahead` lets the job be queued for that exact moment), else the policy."""
    renew_at = ari.renew_at if ari is not None and ari.usable else None
    if renew_at is None:
        return policy_due
    return renew_at <= now + lookahead
