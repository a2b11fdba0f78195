"""Schemas of a certificate's effective alert route."""

from __future__ import annotations

from pydantic import Field

from certctl.api.schemas.common import Out
from certctl.services.routing import AlertRoute


class RouteStepOut(Out):
    """One channel of one threshold."""

    channel: str
    recipient: str = Field(description="E-mail addresses for Email, the endpoint for others.")
    configured: bool
    source: str = Field(description="'database', 'environment', or '' when not configured.")
    skipped_because: str = Field(description="Why this cell would be skipped; '' if sent.")


class RouteRowOut(Out):
    """What fires at one threshold (no channels: the tier opted out)."""

    threshold_days: int | str
    tier: str
    channels: list[RouteStepOut]


class AlertRouteOut(Out):
    """Who the expiry scan would alert for a certificate, as configured now."""

    certificate_id: str
    policy_id: str | None
    policy_name: str
    owner_name: str
    owner_email: str
    team_name: str
    thresholds: list[RouteRowOut]

    @classmethod
    def of(cls, route: AlertRoute) -> AlertRouteOut:
        """The answer for a computed route."""
        rows = [
            RouteRowOut(
                threshold_days=row.threshold,
                tier=row.tier,
                channels=[
                    RouteStepOut(
                        channel=s.channel,
                        recipient=s.recipient,
                        configured=s.configured,
                        source=s.source,
                        skipped_because=s.skipped_because,
                    )
                    for s in row.steps
                ],
            )
            for row in route.rows
        ]
        return cls(
            certificate_id=route.certificate_id,
            policy_id=route.policy_id,
            policy_name=route.policy_name,
            owner_name=route.owner_name,
            owner_email=route.owner_email,
            team_name=route.team_name,
            thresholds=rows,
        )
