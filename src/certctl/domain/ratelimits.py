"""Rate-limit rules: fixed windows, Retry-After and the sign-in back-off (C10)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Rule:
    """At most `limit` hits per `window_seconds`; a limit of 0 switches the rule off."""

    limit: int
    window_seconds: int = 60

    def __post_init__(self) -> None:
        if self.limit < 0 or self.window_seconds < 1:
            raise ValueError("a rate limit needs limit >= 0 and a window of 1 s or more")

    @property
    def enabled(self) -> bool:
        """Whether the rule limits anything."""
        return self.limit > 0

    def window_start(self, now: datetime) -> datetime:
        """The start of the fixed window holding `now` (windows align on the Unix epoch)."""
        elapsed = (now - _EPOCH).total_seconds()
        return _EPOCH + timedelta(seconds=elapsed - elapsed % self.window_seconds)

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        end = self.window_start(now) + timedelta(seconds=self.window_seconds)
        return seconds_until(end, now)


@dataclass(frozen=True)
class Backoff:
    """Per-account sign-in back-off: after `after` failures in a row, each further failure
    locks the account for `base_seconds` doubled per extra failure, at most `cap_seconds`."""

    after: int = 5
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def lock_seconds(self, failures: int) -> float:
        """How long the account is locked after its `failures`-th failure in a row."""
        if self.after <= 0 or failures < self.after:
            return 0.0
        return float(min(self.cap_seconds, self.base_seconds * 2 ** min(failures - self.after, 32)))


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from `now` until `moment`, rounded up, at least 1 (a Retry-After)."""
    return max(1, math.ceil((moment - now).total_seconds()))
