"""Prometheus metrics, registered on a registry owned by the application context."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Every certctl series; built once per context so tests get a clean registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.http_requests = Counter(
            "certctl_http_requests_total",
            "HTTP requests served, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "certctl_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.expiry_alerts = Counter(
            "certctl_expiry_alerts",
            "Expiry alert outcomes by channel, threshold and result (success, failure, deduped).",
            ["channel", "threshold", "result"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "certctl_notification_deliveries",
            "Notification delivery attempts by channel and result (sent, failed, dead, skipped).",
            ["channel", "result"],
            registry=self.registry,
        )
        self.alerts_open = Gauge(
            "certctl_alerts_open",
            "Alerts open or acknowledged, by tier (refreshed by the scan and on every change)",
            ["tier"],
            registry=self.registry,
        )
        self.notifications_dead = Gauge(
            "certctl_notification_dead_total",
            "Notifications in the dead-letter state (retries exhausted).",
            registry=self.registry,
        )
        self.loop_duration = Histogram(
            "certctl_scheduler_loop_duration_seconds",
            "Duration of scheduler loop ticks.",
            ["loop"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300),
            registry=self.registry,
        )
        self.loop_failures = Counter(
            "certctl_scheduler_loop_failures_total",
            "Scheduler loop ticks that raised or timed out.",
            ["loop"],
            registry=self.registry,
        )
        self.loop_last_success = Gauge(
            "certctl_scheduler_loop_last_success_timestamp_seconds",
            "Unix time of each loop's last successful tick.",
            ["loop"],
            registry=self.registry,
        )
        self.audit_chain_intact = Gauge(
            "certctl_audit_chain_intact",
            "1 when the last audit chain verification found every link intact, else 0.",
            registry=self.registry,
        )
        self.audit_chain_rows = Gauge(
            "certctl_audit_chain_rows_verified",
            "Audit rows checked by the last chain verification.",
            registry=self.registry,
        )
        self.audit_verifications = Counter(
            "certctl_audit_chain_verifications_total",
            "Audit chain verifications by result (intact, broken).",
            ["result"],
            registry=self.registry,
        )
        self.certificates = Gauge(
            "certctl_certificates",
            "Managed certificates by status.",
            ["status"],
            registry=self.registry,
        )
        self.jobs = Gauge(
            "certctl_jobs",
            "Jobs by status.",
            ["status"],
            registry=self.registry,
        )
        self.agents = Gauge(
            "certctl_agents",
            "Agents not retired, by status (Online, Offline, Degraded).",
            ["status"],
            registry=self.registry,
        )
        self.deployments = Counter(
            "certctl_deployments",
            "Deployment jobs finished by their agent, by result (completed or failed).",
            ["result"],
            registry=self.registry,
        )
        self.issuance = Counter(
            "certctl_issuance",
            "Certificate issuances by issuer type and result (success or the error class).",
            ["issuer_type", "result"],
            registry=self.registry,
        )
        self.issuance_duration = Histogram(
            "certctl_issuance_duration_seconds",
            "Duration of successful issuances (CSR check, signing, database write).",
            ["issuer_type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30),
            registry=self.registry,
        )
