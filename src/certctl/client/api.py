"""CertctlClient: typed async calls of the certctl REST API over one httpx.AsyncClient.

The transport is injectable (``httpx.ASGITransport(app=...)`` in tests, the network
otherwise). Every failure, an error answer or no answer, is raised as one ``ClientError``.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import quote

import httpx

from certctl import __version__
from certctl.client.criteria import AuditCriteria, CertificateCriteria
from certctl.client.errors import ClientError
from certctl.client.models import (
    Agent,
    Alert,
    AlertDetail,
    AlertForecast,
    AlertRoute,
    AuditEvent,
    AuditVerification,
    BulkResult,
    Certificate,
    Claimed,
    Deployed,
    Discovery,
    DiscoveryScan,
    DiscoverySummary,
    Drift,
    EffectiveRoute,
    Imported,
    Issuer,
    IssuerTest,
    Job,
    Notification,
    Owner,
    Page,
    Policy,
    QuietHours,
    RouteOverride,
    Silence,
    Summary,
    Version,
)

API = "/api/v1"
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_PER_PAGE = 500


def _seg(value: str) -> str:
    """One path segment, escaped so an id can never change the route."""
    return quote(value, safe="")


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


class CertctlClient:
    """The certctl API as methods; use as ``async with CertctlClient(url, api_key=...)``."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"User-Agent": f"certctl-client/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            transport=transport,
            verify=verify,
            timeout=timeout,
            follow_redirects=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            response = await self._http.request(
                method, f"{API}{path}", params=_present(params or {}), json=body
            )
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise ClientError.unreachable(self.base_url, exc) from exc
        if response.is_error:
            raise ClientError.from_response(response)
        if response.status_code == 204:  # a delete answers no content
            return None
        try:
            return response.json()
        except ValueError as exc:  # a proxy or another service answered instead of certctl
            raise ClientError.not_json(response) from exc

    # Certificates

    async def list_certificates(
        self,
        criteria: CertificateCriteria | None = None,
        *,
        sort: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[Certificate]:
        """One page of certificates matching ``criteria``."""
        params = {**(criteria or CertificateCriteria()).query(), "sort": sort}
        found = await self._call(
            "GET", "/certificates", params={**params, "page": page, "per_page": per_page}
        )
        return cast(Page[Certificate], found)

    async def get_certificate(self, certificate_id: str) -> Certificate:
        """One certificate."""
        return cast(Certificate, await self._call("GET", f"/certificates/{_seg(certificate_id)}"))

    async def get_alert_route(self, certificate_id: str) -> AlertRoute:
        """Who the expiry scan would alert for a certificate, per threshold and channel."""
        path = f"/certificates/{_seg(certificate_id)}/alert-route"
        return cast(AlertRoute, await self._call("GET", path))

    async def get_effective_route(self, certificate_id: str) -> EffectiveRoute:
        """Who gets paged for the certificate per tier, and why (override or matrix cell)."""
        path = f"/certificates/{_seg(certificate_id)}/route"
        return cast(EffectiveRoute, await self._call("GET", path))

    async def import_certificate(
        self,
        pem: str,
        *,
        name: str | None = None,
        environment: str | None = None,
        owner_id: str | None = None,
        team_id: str | None = None,
        renewal_policy_id: str | None = None,
    ) -> Imported:
        """Bring a PEM certificate (leaf first, then its chain) under management."""
        body = _present(
            {
                "pem": pem,
                "name": name,
                "environment": environment,
                "owner_id": owner_id,
                "team_id": team_id,
                "renewal_policy_id": renewal_policy_id,
            }
        )
        return cast(Imported, await self._call("POST", "/certificates/import", body=body))

    async def list_versions(
        self, certificate_id: str, *, page: int = 1, per_page: int = 50
    ) -> Page[Version]:
        """One page of the certificate's issued versions, newest first."""
        path = f"/certificates/{_seg(certificate_id)}/versions"
        found = await self._call("GET", path, params={"page": page, "per_page": per_page})
        return cast(Page[Version], found)

    async def renew_certificate(self, certificate_id: str) -> Job:
        """Queue a renewal job now."""
        path = f"/certificates/{_seg(certificate_id)}/renew"
        return cast(Job, await self._call("POST", path, body={}))

    async def deploy_certificate(self, certificate_id: str) -> Deployed:
        """Queue a Deployment job per enabled target of the certificate."""
        path = f"/certificates/{_seg(certificate_id)}/deploy"
        return cast(Deployed, await self._call("POST", path, body={}))

    async def list_issuers(self, *, page: int = 1, per_page: int = 50) -> Page[Issuer]:
        """One page of issuers."""
        params = {"page": page, "per_page": per_page}
        return cast(Page[Issuer], await self._call("GET", "/issuers", params=params))

    async def test_issuer(self, issuer_id: str) -> IssuerTest:
        """Reach the issuer's CA with its stored configuration."""
        path = f"/issuers/{_seg(issuer_id)}/test"
        return cast(IssuerTest, await self._call("POST", path, body={}))

    async def revoke_certificate(self, certificate_id: str, *, reason: str) -> Certificate:
        """Revoke with an RFC 5280 reason name (``keyCompromise`` …)."""
        path = f"/certificates/{_seg(certificate_id)}/revoke"
        return cast(Certificate, await self._call("POST", path, body={"reason": reason}))

    async def bulk_revoke(
        self,
        *,
        reason: str,
        certificate_ids: Sequence[str] = (),
        criteria: CertificateCriteria | None = None,
    ) -> BulkResult:
        """Revoke every listed or matching certificate (admin)."""
        body = {**_bulk_body(certificate_ids, criteria), "reason": reason}
        return cast(BulkResult, await self._call("POST", "/certificates/bulk-revoke", body=body))

    async def bulk_renew(
        self, *, certificate_ids: Sequence[str] = (), criteria: CertificateCriteria | None = None
    ) -> BulkResult:
        """Queue renewal of every listed or matching certificate."""
        body = _bulk_body(certificate_ids, criteria)
        return cast(BulkResult, await self._call("POST", "/certificates/bulk-renew", body=body))

    # Jobs

    async def list_jobs(
        self,
        *,
        status: str | None = None,
        job_type: str | None = None,
        certificate_id: str | None = None,
        sort: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[Job]:
        """One page of jobs."""
        params = {
            "status": status,
            "type": job_type,
            "certificate_id": certificate_id,
            "sort": sort,
            "page": page,
            "per_page": per_page,
        }
        return cast(Page[Job], await self._call("GET", "/jobs", params=params))

    async def get_job(self, job_id: str) -> Job:
        """One job."""
        return cast(Job, await self._call("GET", f"/jobs/{_seg(job_id)}"))

    async def approve_job(self, job_id: str, *, reason: str | None = None) -> Job:
        """Approve a job awaiting approval."""
        return await self._decide(job_id, "approve", reason)

    async def reject_job(self, job_id: str, *, reason: str) -> Job:
        """Reject a job awaiting approval; the reason is required."""
        return await self._decide(job_id, "reject", reason)

    async def cancel_job(self, job_id: str, *, reason: str | None = None) -> Job:
        """Cancel an open job."""
        return await self._decide(job_id, "cancel", reason)

    async def _decide(self, job_id: str, verb: str, reason: str | None) -> Job:
        body = {} if reason is None else {"reason": reason}
        return cast(Job, await self._call("POST", f"/jobs/{_seg(job_id)}/{verb}", body=body))

    # Notifications

    async def list_notifications(
        self,
        *,
        status: str | None = None,
        channel: str | None = None,
        certificate_id: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[Notification]:
        """One page of outbox rows, newest first (``status="dead"``: the dead letters)."""
        params = {
            "status": status,
            "channel": channel,
            "certificate_id": certificate_id,
            "page": page,
            "per_page": per_page,
        }
        return cast(Page[Notification], await self._call("GET", "/notifications", params=params))

    async def requeue_notification(self, notification_id: str) -> Notification:
        """Send a failed, dead or skipped notification again from attempt 0."""
        path = f"/notifications/{_seg(notification_id)}/requeue"
        return cast(Notification, await self._call("POST", path))

    # Alerts

    async def list_alerts(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        tier: str | None = None,
        certificate_id: str | None = None,
        owner_id: str | None = None,
        team_id: str | None = None,
        sort: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[Alert]:
        """One page of alerts, newest first unless sorted otherwise."""
        params = {
            "state": state,
            "kind": kind,
            "tier": tier,
            "certificate_id": certificate_id,
            "owner_id": owner_id,
            "team_id": team_id,
            "sort": sort,
            "page": page,
            "per_page": per_page,
        }
        return cast(Page[Alert], await self._call("GET", "/alerts", params=params))

    async def alert_forecast(
        self,
        *,
        days: int = 30,
        certificate_id: str | None = None,
        owner_id: str | None = None,
        team_id: str | None = None,
    ) -> AlertForecast:
        """Which alerts the expiry scan would send on each of the next `days` days."""
        params = {
            "days": days,
            "certificate_id": certificate_id,
            "owner_id": owner_id,
            "team_id": team_id,
        }
        return cast(AlertForecast, await self._call("GET", "/alerts/forecast", params=params))

    async def get_alert(self, alert_id: str) -> AlertDetail:
        """One alert with its deliveries."""
        return cast(AlertDetail, await self._call("GET", f"/alerts/{_seg(alert_id)}"))

    async def acknowledge_alert(self, alert_id: str) -> Alert:
        """Acknowledge an open alert."""
        return cast(Alert, await self._call("POST", f"/alerts/{_seg(alert_id)}/ack"))

    async def resolve_alert(self, alert_id: str, *, reason: str) -> Alert:
        """Resolve an alert with a reason (resolve notices go out where configured)."""
        path = f"/alerts/{_seg(alert_id)}/resolve"
        return cast(Alert, await self._call("POST", path, body={"reason": reason}))

    # Silences

    async def list_silences(self, *, page: int = 1, per_page: int = 50) -> Page[Silence]:
        """One page of silences, the one ending last first."""
        params = {"page": page, "per_page": per_page}
        return cast(Page[Silence], await self._call("GET", "/silences", params=params))

    async def create_silence(self, fields: Mapping[str, Any]) -> Silence:
        """Create a silence: matchers, a reason and `ends_at` (`starts_at` defaults to now)."""
        return cast(Silence, await self._call("POST", "/silences", body=dict(fields)))

    async def expire_silence(self, silence_id: str) -> Silence:
        """End a silence now; what it muted goes out at the next dispatch."""
        return cast(Silence, await self._call("POST", f"/silences/{_seg(silence_id)}/expire"))

    # Quiet hours

    async def list_quiet_hours(self, *, page: int = 1, per_page: int = 50) -> Page[QuietHours]:
        """One page of quiet windows, by name."""
        params = {"page": page, "per_page": per_page}
        return cast(Page[QuietHours], await self._call("GET", "/quiet-hours", params=params))

    async def create_quiet_hours(self, fields: Mapping[str, Any]) -> QuietHours:
        """Create a quiet window (name, weekdays, start, end, timezone, team_id and/or channel)."""
        return cast(QuietHours, await self._call("POST", "/quiet-hours", body=dict(fields)))

    async def delete_quiet_hours(self, quiet_hours_id: str) -> None:
        """Delete a quiet window."""
        await self._call("DELETE", f"/quiet-hours/{_seg(quiet_hours_id)}")

    # Routing overrides

    async def list_route_overrides(
        self, *, team_id: str | None = None, page: int = 1, per_page: int = 50
    ) -> Page[RouteOverride]:
        """One page of per-team and per-owner routing overrides, by name (secrets masked)."""
        params = {"team_id": team_id, "page": page, "per_page": per_page}
        answer = await self._call("GET", "/route-overrides", params=params)
        return cast(Page[RouteOverride], answer)

    async def create_route_override(self, fields: Mapping[str, Any]) -> RouteOverride:
        """Create a routing override (name, channel, team_id or owner_id, tier, config)."""
        answer = await self._call("POST", "/route-overrides", body=dict(fields))
        return cast(RouteOverride, answer)

    # Owners

    async def list_owners(
        self, *, team_id: str | None = None, page: int = 1, per_page: int = 50
    ) -> Page[Owner]:
        """One page of owners, optionally of one team."""
        params = {"team_id": team_id, "page": page, "per_page": per_page}
        return cast(Page[Owner], await self._call("GET", "/owners", params=params))

    async def get_owner(self, owner_id: str) -> Owner:
        """One owner."""
        return cast(Owner, await self._call("GET", f"/owners/{_seg(owner_id)}"))

    async def create_owner(self, fields: Mapping[str, Any]) -> Owner:
        """Create an owner (name, email; id, team_id and digest optional)."""
        return cast(Owner, await self._call("POST", "/owners", body=dict(fields)))

    async def update_owner(self, owner_id: str, changes: Mapping[str, Any]) -> Owner:
        """Change fields of an owner (PATCH)."""
        return cast(Owner, await self._call("PATCH", f"/owners/{_seg(owner_id)}", body=changes))

    # Renewal policies

    async def list_policies(
        self, *, q: str | None = None, sort: str | None = None, page: int = 1, per_page: int = 50
    ) -> Page[Policy]:
        """One page of renewal policies."""
        params = {"q": q, "sort": sort, "page": page, "per_page": per_page}
        return cast(Page[Policy], await self._call("GET", "/renewal-policies", params=params))

    async def get_policy(self, policy_id: str) -> Policy:
        """One renewal policy."""
        return cast(Policy, await self._call("GET", f"/renewal-policies/{_seg(policy_id)}"))

    async def update_policy(self, policy_id: str, changes: Mapping[str, Any]) -> Policy:
        """Change fields of a renewal policy (PATCH)."""
        path = f"/renewal-policies/{_seg(policy_id)}"
        return cast(Policy, await self._call("PATCH", path, body=changes))

    # Audit

    async def list_audit(
        self, criteria: AuditCriteria | None = None, *, page: int = 1, per_page: int = 50
    ) -> Page[AuditEvent]:
        """One page of audit events, newest first."""
        params = {**(criteria or AuditCriteria()).query(), "page": page, "per_page": per_page}
        return cast(Page[AuditEvent], await self._call("GET", "/audit", params=params))

    async def verify_audit(self) -> AuditVerification:
        """Verify the audit hash chain on the server (admin or auditor key)."""
        return cast(AuditVerification, await self._call("GET", "/audit/verify"))

    async def iter_audit(
        self, criteria: AuditCriteria | None = None, *, per_page: int = MAX_PER_PAGE
    ) -> AsyncIterator[AuditEvent]:
        """Every matching audit event, page after page."""
        page = 1
        while True:
            found = await self.list_audit(criteria, page=page, per_page=per_page)
            for event in found["data"]:
                yield event
            if not found["data"] or page * per_page >= found["total"]:
                return
            page += 1

    # Agents

    async def list_agents(
        self, *, status: str | None = None, q: str | None = None, page: int = 1, per_page: int = 50
    ) -> Page[Agent]:
        """One page of agents."""
        params = {"status": status, "q": q, "page": page, "per_page": per_page}
        return cast(Page[Agent], await self._call("GET", "/agents", params=params))

    async def get_agent(self, agent_id: str) -> Agent:
        """One agent."""
        return cast(Agent, await self._call("GET", f"/agents/{_seg(agent_id)}"))

    async def retire_agent(self, agent_id: str, *, reason: str) -> Agent:
        """Retire an agent: it can no longer authenticate or take work."""
        path = f"/agents/{_seg(agent_id)}/retire"
        return cast(Agent, await self._call("POST", path, body={"reason": reason}))

    # Stats

    # Discovery (C8)

    async def list_discoveries(
        self,
        *,
        status: str | None = None,
        source: str | None = None,
        agent_id: str | None = None,
        scan_id: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[Discovery]:
        """One page of discovered certificates."""
        params: dict[str, Any] = {"status": status, "source": source, "agent_id": agent_id}
        params |= {"scan_id": scan_id, "q": q, "sort": sort, "page": page, "per_page": per_page}
        return cast(Page[Discovery], await self._call("GET", "/discoveries", params=params))

    async def get_discovery(self, discovery_id: str) -> Discovery:
        """One discovery with its PEM and the endpoints that served it."""
        return cast(Discovery, await self._call("GET", f"/discoveries/{_seg(discovery_id)}"))

    async def discovery_summary(self) -> DiscoverySummary:
        """Discovery counts by status, agent and scan."""
        return cast(DiscoverySummary, await self._call("GET", "/discoveries/summary"))

    async def claim_discovery(self, discovery_id: str, fields: Mapping[str, Any]) -> Claimed:
        """Make a discovery a managed certificate."""
        path = f"/discoveries/{_seg(discovery_id)}/claim"
        return cast(Claimed, await self._call("POST", path, body=_present(fields)))

    async def dismiss_discovery(self, discovery_id: str, *, reason: str) -> Discovery:
        """Mark a discovery as not to be managed."""
        path = f"/discoveries/{_seg(discovery_id)}/dismiss"
        return cast(Discovery, await self._call("POST", path, body={"reason": reason}))

    async def start_discovery_scan(
        self, cidrs: Sequence[str], ports: Sequence[int], *, server_name: str | None = None
    ) -> DiscoveryScan:
        """Request a network scan."""
        body = _present({"cidrs": list(cidrs), "ports": list(ports), "server_name": server_name})
        return cast(DiscoveryScan, await self._call("POST", "/discovery-scans", body=body))

    async def get_discovery_scan(self, scan_id: str) -> DiscoveryScan:
        """One scan with the endpoints it found."""
        return cast(DiscoveryScan, await self._call("GET", f"/discovery-scans/{_seg(scan_id)}"))

    async def list_discovery_scans(
        self, *, page: int = 1, per_page: int = 50
    ) -> Page[DiscoveryScan]:
        """Network scans, newest first."""
        params = {"page": page, "per_page": per_page}
        return cast(Page[DiscoveryScan], await self._call("GET", "/discovery-scans", params=params))

    async def list_drift(self) -> list[Drift]:
        """Open drifts."""
        return cast(list[Drift], await self._call("GET", "/drift"))

    async def summary(self) -> Summary:
        """The dashboard counts."""
        return cast(Summary, await self._call("GET", "/stats/summary"))


def _bulk_body(
    certificate_ids: Sequence[str], criteria: CertificateCriteria | None
) -> dict[str, Any]:
    body = (criteria or CertificateCriteria()).body()
    if certificate_ids:
        body["certificate_ids"] = list(certificate_ids)
    return body
