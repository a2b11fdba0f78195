"""Load generators of bench/pki.py: issuance, OCSP and the /health prober over HTTP."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import harness
from harness.load import Send
from pki_common import (
    AUTH,
    MAX_IN_FLIGHT,
    OCSP_REQUEST_TYPE,
    OCSP_WARM_PASSES,
    OPEN_LOOP_CONNECTIONS,
    PROBE_TIMEOUT,
    REQUEST_TIMEOUT,
    AnswerCheck,
    Sizes,
    new_csr,
)

# --------------------------------------------------------------------------- load generators


@dataclass(frozen=True)
class LoadSpec:
    """What one load-generator process sends."""

    kind: str  # issue | ocsp | health | probe
    base_url: str
    client: str  # raw | httpx
    concurrency: int = 1
    rate: float = 0.0  # probe: probes per second; issue: > 0 for an open loop at this rate
    items: tuple[Any, ...] = ()  # issue: certificate ids; ocsp: (serial hex, DER request)
    path: str = ""


@dataclass
class Work:
    bodies: list[tuple[str, bytes]] = field(default_factory=list)  # (path, body)
    check: AnswerCheck = field(default_factory=AnswerCheck)
    warm_bad: Counter[str] = field(default_factory=Counter)
    http: Any = None  # the warmed connections, kept for the run


def make_http(spec: LoadSpec) -> Any:
    if spec.client == "httpx":
        return harness.HttpxHttp(spec.base_url, spec.concurrency, AUTH)
    return harness.RawHttp(spec.base_url, AUTH)


async def prepare(spec: LoadSpec) -> Work:
    """Untimed: CSRs for the issuance bodies; OCSP answers for every serial, several times."""
    work = Work()
    if spec.kind == "issue":
        for cert_id in spec.items:
            # The name the certificate row declares (pending_cert_rows): a CSR may carry
            # only the names its certificate declares.
            cn = "http" + cert_id.removeprefix("mc-http-") + ".bench.example.com"
            body = json.dumps({"csr_pem": new_csr(cn)}).encode()
            work.bodies.append((f"/api/v1/certificates/{cert_id}/csr", body))
    elif spec.kind == "ocsp":
        http = work.http = make_http(spec)
        if isinstance(http, harness.RawHttp):
            await http.open(spec.concurrency)
        queue = list(spec.items) * OCSP_WARM_PASSES
        position = itertools.count()

        async def warm() -> None:
            while (i := next(position)) < len(queue):
                serial, der = queue[i]
                status, body = await http.request("POST", spec.path, der, OCSP_REQUEST_TYPE)
                verdict = work.check(serial, body) if status == 200 else f"http:{status}"
                if verdict != "ok":
                    work.warm_bad[verdict] += 1

        await asyncio.gather(*(warm() for _ in range(spec.concurrency)))
    return work


PROBE_IN_FLIGHT = 1_000_000  # the prober never holds a probe back


async def drive(spec: LoadSpec, work: Work, window: harness.Window) -> dict[str, Any]:
    """Run from `go` to `end`; count what started in [`measure`, `end`)."""
    cpu: dict[str, float] = {}

    async def marks() -> None:
        await harness.sleep_until(window.measure)
        cpu["start"] = time.process_time()
        cpu["seen"] = len(work.check.seen)  # answers first seen after this were signed fresh
        await harness.sleep_until(window.end)
        cpu["end"] = time.process_time()

    marker = asyncio.create_task(marks())
    if spec.kind == "probe":
        tally = await harness.generate(
            probe_sender(spec),
            window,
            rate=spec.rate,
            request_timeout=PROBE_TIMEOUT,
            max_in_flight=PROBE_IN_FLIGHT,
        )
    else:
        http = work.http or make_http(spec)
        await harness.sleep_until(window.go)
        if isinstance(http, harness.RawHttp) and not http.idle:
            # inside the unmeasured warm-up
            await http.open(spec.concurrency if spec.rate <= 0 else OPEN_LOOP_CONNECTIONS)
        try:
            tally = await harness.generate(
                sender(spec, work, http),
                window,
                concurrency=spec.concurrency,
                rate=spec.rate,
                request_timeout=REQUEST_TIMEOUT,
                max_in_flight=MAX_IN_FLIGHT,
            )
        finally:
            await http.aclose()
    await marker
    return {
        "kind": spec.kind,
        "codes": dict(tally.codes),
        "latencies": tally.latencies,
        "ok_all": tally.ok_all,
        "last_done": tally.last_done,
        "cpu_s": cpu["end"] - cpu["start"],
        "fresh": work.check.fresh_since(int(cpu["seen"])),
        "warm_errors": dict(work.warm_bad),
    }


def sender(spec: LoadSpec, work: Work, http: Any) -> Send:
    if spec.kind == "issue":
        bodies = work.bodies

        async def issue(i: int) -> str:
            path, body = bodies[i % len(bodies)]
            status, _ = await http.request("POST", path, body)
            return "ok" if status == 201 else f"http:{status}"

        return issue
    if spec.kind == "ocsp":
        items = spec.items

        async def answer(i: int) -> str:
            serial, der = items[i % len(items)]
            status, body = await http.request("POST", spec.path, der, OCSP_REQUEST_TYPE)
            return work.check(serial, body) if status == 200 else f"http:{status}"

        return answer

    async def health(_: int) -> str:
        status, _ = await http.request("GET", "/health")
        return "ok" if status == 200 else f"http:{status}"

    return health


def probe_sender(spec: LoadSpec) -> Send:
    """GET /health on a new connection every time, so it reaches whichever worker accepts it."""
    host, _, port = spec.base_url.removeprefix("http://").partition(":")

    async def probe(_: int) -> str:
        status = await harness.probe(host, int(port), "/health")
        return "ok" if status == 200 else f"http:{status}"

    return probe


def run_load(
    specs: Sequence[LoadSpec], roots: dict[str, int | None], warmup: float, duration: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Start one process per spec, let them prepare, run them together; CPU of the window."""
    results, cpu, window = harness.run_clients(
        prepare, drive, specs, roots, warmup, duration, grace=REQUEST_TIMEOUT + 30
    )
    for result in results:
        result["measure_start"] = window.measure
        result["measure_end"] = window.end
    return results, cpu


def summarise(
    results: Sequence[dict[str, Any]], cpu: dict[str, Any], duration: float, label: str
) -> dict[str, Any]:
    """One row from the processes of one kind; CPU of the whole window."""
    codes: Counter[str] = Counter()
    latencies: list[float] = []
    for r in results:
        codes.update(r["codes"])
        latencies.extend(r["latencies"])
    latencies.sort()
    ok = codes.get("ok", 0)
    total = sum(codes.values())
    elapsed = duration
    if results and results[0]["kind"] != "probe":
        last = max((r["last_done"] for r in results), default=0.0)
        elapsed = max(duration, last - results[0]["measure_start"])
    rate = ok / elapsed if elapsed > 0 else 0.0
    return {
        "scenario": label,
        "requests": total,
        "ok": ok,
        "errors": total - ok,
        "codes": dict(codes),
        "elapsed_s": round(elapsed, 2),
        "per_s": round(rate, 1),
        "p50_ms": harness.percentile(latencies, 50),
        "p99_ms": harness.percentile(latencies, 99),
        "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "client_cpu_pct": round(100 * sum(r["cpu_s"] for r in results) / duration),
        "server_cpu_pct": cpu.get("server_cpu_pct"),
        "server_workers_cpu_pct": cpu.get("server_children_cpu_pct"),
        "db_cpu_pct": cpu.get("db_cpu_pct"),
        "machine_cpu_pct": cpu.get("machine_cpu_pct"),
        "fresh": sum(r["fresh"] for r in results),
        "ok_all": sum(r["ok_all"] for r in results),
        "warm_errors": sum(sum(r["warm_errors"].values()) for r in results),
    }


def load_rows(
    main_specs: Sequence[LoadSpec],
    probe: LoadSpec | None,
    roots: dict[str, int | None],
    sizes: Sizes,
    label: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Run the load processes (and the prober) together; a row for each, CPU shared out."""
    specs = [*main_specs, *([probe] if probe else [])]
    results, cpu = run_load(specs, roots, sizes.warmup, sizes.duration)
    load = summarise(results[: len(main_specs)], cpu, sizes.duration, label)
    probe_row = None
    if probe is not None:
        probe_row = summarise(
            results[len(main_specs) :], cpu, sizes.duration, f"prober GET /health during: {label}"
        )
    ours = (
        (load["client_cpu_pct"] if main_specs else 0)
        + (probe_row["client_cpu_pct"] if probe_row else 0)
        + (cpu.get("server_cpu_pct") or 0.0)
        + (cpu.get("db_cpu_pct") or 0.0)
    )
    other = round(max(0.0, (cpu.get("machine_cpu_pct") or 0.0) - ours))
    for row in (load, probe_row):
        if row is None:
            continue
        row["other_cpu_pct"] = other
        served = (row["server_cpu_pct"] or 0.0) + (row["db_cpu_pct"] or 0.0)
        row["ms_per_req"] = round(10 * served / row["per_s"], 2) if row["per_s"] else None
    if probe_row is not None:
        probe_row["ms_per_req"] = None  # the server's CPU went to the load, not the probes
        if probe_row["client_cpu_pct"] is not None and load is not None:
            load["prober_cpu_pct"] = probe_row["client_cpu_pct"]
    return load, probe_row


def worker_split(rows: Sequence[dict[str, Any] | None], workers: int) -> None:
    """Each worker's CPU, e.g. `88/79`: a closed loop whose connections all landed on one
    worker shows it here."""
    for row in rows:
        if row is not None:
            shares = (row.get("server_workers_cpu_pct") or [])[:workers]
            row["workers_split"] = (
                "/".join(f"{c:.0f}" for c in shares) if workers > 1 and shares else None
            )


def split(items: Sequence[Any], parts: int) -> list[tuple[Any, ...]]:
    return [tuple(items[i::parts]) for i in range(parts)]
