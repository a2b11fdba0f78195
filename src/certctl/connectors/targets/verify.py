"""Check on the wire that a target serves the deployed leaf, retrying while it reloads (C7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from certctl.connectors.tlsprobe import ProbeFailed, probe
from certctl.domain.targets import TargetConfig

# A reload is asynchronous in nginx, Apache and HAProxy: the command returns once the signal
# is sent, and new workers take over a moment later. Five looks over about 7.5 s.
VERIFY_BACKOFF = (0.5, 1.0, 2.0, 4.0)
PROBE_DEADLINE_SECONDS = 5.0


@dataclass(frozen=True)
class Verification:
    """What the endpoint served last, and whether it was the deployed leaf."""

    matched: bool
    served_sha256: str | None
    reason: str


async def verify_served_leaf(
    config: TargetConfig, expected_sha256: str, sleep: Callable[[float], Awaitable[None]]
) -> Verification:
    """Probe `verify_endpoint` (SNI = verify_server_name) until it serves the expected leaf."""
    address = config.verify_address
    if address is None:
        raise ValueError("the target has no verify_endpoint")
    host, port = address
    served: str | None = None
    reason = ""
    for delay in (0.0, *VERIFY_BACKOFF):
        if delay:
            await sleep(delay)
        try:
            chain = await probe(
                host,
                port,
                server_name=config.verify_server_name,
                deadline_seconds=PROBE_DEADLINE_SECONDS,
            )
        except ProbeFailed as exc:
            reason = f"{config.verify_endpoint}: {exc.reason}"
            continue
        served = chain.leaf_sha256
        if served == expected_sha256:
            return Verification(True, served, "")
        reason = (
            f"{config.verify_endpoint} serves leaf {served}, not the deployed {expected_sha256}"
        )
    return Verification(False, served, reason)
