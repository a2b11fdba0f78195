"""Two `certctl serve` replicas on one PostgreSQL: jobs run once, a killed replica loses nothing."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from certctl.testing.postgres import ThrowawayCluster, free_port
from certctl.testing.process import CERTCTL, stop, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
KEY = "replica-admin-key-0123"
HEADERS = {"Authorization": f"Bearer {KEY}"}
JOBS = 12
_names = itertools.count()


def _new_database(cluster: ThrowawayCluster) -> str:
    name = f"replicas_{next(_names)}_{int(time.time())}"

    async def create() -> None:
        conn = await asyncpg.connect(cluster.admin_url)
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()

    asyncio.run(create())
    return cluster.url(name)


@pytest.fixture
def database(pg_cluster: ThrowawayCluster) -> str:
    """A new, empty PostgreSQL database on the session's cluster (the replicas migrate it)."""
    return _new_database(pg_cluster)


@pytest.fixture
def own_cluster() -> Iterator[ThrowawayCluster]:
    """A PostgreSQL cluster of this test alone, which it may stop and start."""
    cluster = ThrowawayCluster().start()
    yield cluster
    cluster.stop()


Replica = tuple[str, subprocess.Popen[str]]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], Replica]]:
    """Factory of `certctl serve` processes on a database, every loop on a short interval."""
    started: list[subprocess.Popen[str]] = []

    def launch(database: str) -> Replica:
        port = free_port()
        env = {
            "CERTCTL_SERVER_PORT": str(port),
            "CERTCTL_DATABASE_URL": database,
            "CERTCTL_API_KEYS_NAMED": f"admin:{KEY}:admin",
            "CERTCTL_CONFIG_ENCRYPTION_KEY": "replica-test-encryption-key",
            "CERTCTL_DEMO_MODE_ACK": "true",
            "CERTCTL_KEYGEN_MODE": "server",
            "CERTCTL_LOG_LEVEL": "warning",
            "CERTCTL_SCHEDULER_JOB_PROCESSOR_INTERVAL": "0.2",
            "CERTCTL_SCHEDULER_JOB_TIMEOUT_INTERVAL": "1",
            "CERTCTL_SCHEDULER_RENEWAL_CHECK_INTERVAL": "1",
            "CERTCTL_NOTIFICATION_DISPATCH_INTERVAL": "0.5",
            "CERTCTL_NOTIFICATION_RETRY_INTERVAL": "1",
            "CERTCTL_JOB_LEASE_SECONDS": "3",
        }
        url = f"http://127.0.0.1:{port}"
        # The log goes to a file: during an outage every failed request logs a traceback,
        # and a pipe nobody reads would fill and stall the server.
        log = (tmp_path / f"server-{port}.log").open("w")
        proc = subprocess.Popen(
            [CERTCTL, "serve"],
            env={**_without_certctl_variables(), **env},
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            text=True,
        )
        log.close()
        started.append(proc)
        wait_ready(url, proc)
        return url, proc

    yield launch
    with ExitStack() as stack:
        for proc in started:
            stack.callback(stop, proc)


@pytest.fixture
def replicas(serve: Callable[[str], Replica], database: str) -> Callable[[], Replica]:
    """Factory of replicas sharing one database of the session's cluster."""
    return lambda: serve(database)


def _without_certctl_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}


def _api(url: str, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(method, f"{url}/api/v1{path}", headers=HEADERS, timeout=60, **kwargs)
    assert answer.status_code < 300, answer.text
    return answer.json()


def _queue_renewals(url: str, count: int, profile: dict[str, Any] | None = None) -> list[str]:
    """`count` certificates on a local CA issuer, each with a renewal requested: job ids."""
    issuer = _api(url, "POST", "/issuers", json={"name": "ca", "type": "GenericCA"})
    extra: dict[str, Any] = {}
    if profile is not None:
        extra["certificate_profile_id"] = _api(url, "POST", "/profiles", json=profile)["id"]
    jobs = []
    for index in range(count):
        cert = _api(
            url,
            "POST",
            "/certificates",
            json={
                "name": f"svc-{index}",
                "common_name": f"svc-{index}.example.com",
                "issuer_id": issuer["id"],
                **extra,
            },
        )
        jobs.append(_api(url, "POST", f"/certificates/{cert['id']}/renew")["id"])
    return jobs


def _jobs(url: str) -> dict[str, dict[str, Any]]:
    page = _api(url, "GET", "/jobs", params={"per_page": 500})
    return {job["id"]: job for job in page["data"]}


def _until_completed(url: str, ids: list[str], timeout: float = 90) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = _jobs(url)
        if all(jobs[i]["status"] == "Completed" for i in ids):
            return jobs
        time.sleep(0.3)
    raise AssertionError(f"jobs not completed in {timeout:.0f} s: {_jobs(url)}")


def _audit_count(url: str, action: str) -> int:
    return int(_api(url, "GET", "/audit", params={"action": action, "per_page": 1})["total"])


def test_two_replicas_run_each_job_exactly_once(replicas: Callable[[], Replica]) -> None:
    """With both replicas' job processors running, each of M jobs is started, issued and
    completed once: one attempt, one new version per certificate, M audit rows of each kind."""
    (first, _), (second, _) = replicas(), replicas()
    ids = _queue_renewals(first, JOBS)
    jobs = _until_completed(second, ids)
    assert [jobs[i]["attempts"] for i in ids] == [1] * JOBS
    assert _audit_count(first, "job_started") == JOBS
    assert _audit_count(first, "job_completed") == JOBS
    versions = [
        _api(first, "GET", f"/certificates/{jobs[i]['certificate_id']}/versions")["total"]
        for i in ids
    ]
    assert versions == [1] * JOBS
    assert _api(second, "GET", "/jobs", params={"status": "Running"})["total"] == 0


def test_a_replica_killed_mid_job_leaves_nothing_claimed(
    replicas: Callable[[], Replica],
) -> None:
    """kill -9 while jobs are claimed: the survivor reclaims them once their 3 s lease ends and
    completes every job; none stays Running."""
    doomed_url, doomed = replicas()
    # RSA-4096 keys take a while to generate: the kill lands while jobs are claimed.
    slow = {"name": "slow", "allowed_key_algorithms": [{"algorithm": "RSA", "min_size": 4096}]}
    ids = _queue_renewals(doomed_url, 6, profile=slow)
    deadline = time.monotonic() + 60
    while _api(doomed_url, "GET", "/jobs", params={"status": "Running"})["total"] == 0:
        assert time.monotonic() < deadline, "no job was ever claimed"
        time.sleep(0.05)
    doomed.kill()
    doomed.wait(timeout=10)
    survivor, _ = replicas()
    jobs = _until_completed(survivor, ids, timeout=180)
    assert all(jobs[i]["status"] == "Completed" for i in ids)
    assert _api(survivor, "GET", "/jobs", params={"status": "Running"})["total"] == 0
    assert max(jobs[i]["attempts"] for i in ids) == 2  # at least one was reclaimed
    assert _audit_count(survivor, "job_completed") == len(ids)


OUTAGE_SECONDS = 30


def _post_teams(url: str, stop_at: threading.Event, acknowledged: list[str]) -> None:
    """Load: create teams one after another; remember those answered 201."""
    for index in itertools.count():
        if stop_at.is_set():
            return
        try:
            answer = httpx.post(
                f"{url}/api/v1/teams", headers=HEADERS, json={"name": f"t{index}"}, timeout=10
            )
        except httpx.TransportError:
            continue
        if answer.status_code == 201:
            acknowledged.append(answer.json()["id"])
        else:
            time.sleep(0.1)


def _ready_status(url: str) -> int:
    return httpx.get(f"{url}/ready", timeout=5).status_code


def test_a_database_outage_is_503_and_the_server_recovers_losing_nothing(
    own_cluster: ThrowawayCluster, serve: Callable[[str], Replica]
) -> None:
    """PostgreSQL stopped for 30 s under load: /ready answers 503 meanwhile; once it is back
    the same process answers 200 again, finishes every job and kept every acknowledged write."""
    url, proc = serve(_new_database(own_cluster))
    slow = {"name": "slow", "allowed_key_algorithms": [{"algorithm": "RSA", "min_size": 4096}]}
    ids = _queue_renewals(url, 4, profile=slow)
    done, acknowledged = threading.Event(), []
    load = threading.Thread(target=_post_teams, args=(url, done, acknowledged), daemon=True)
    load.start()
    own_cluster.pause()
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    statuses = set()
    while time.monotonic() < outage_ends:
        statuses.add(_ready_status(url))
        time.sleep(1)
    own_cluster.resume()
    deadline = time.monotonic() + 60
    while _ready_status(url) != 200:
        assert time.monotonic() < deadline, "the server did not recover"
        time.sleep(0.5)
    done.set()
    load.join(timeout=30)
    assert statuses == {503}
    assert proc.poll() is None
    _until_completed(url, ids, timeout=180)
    assert _api(url, "GET", "/jobs", params={"status": "Running"})["total"] == 0
    stored = {t["id"] for t in _api(url, "GET", "/teams", params={"per_page": 500})["data"]}
    assert len(acknowledged) > 0
    assert set(acknowledged) <= stored
