"""The one benchmark harness every script in bench/ uses (run as `python bench/<script>.py`).

- `machine`: what the figures were measured on (`machine()`, `revision()`,
  `background_load()`).
- `cpu`: CPU used by process trees (the server and its workers, the PostgreSQL cluster) and by
  the whole machine, from /proc, in % of one core (`CpuSnapshot`, `cpu_percent()`,
  `settle()`).
- `database`: the throwaway PostgreSQL cluster (`Cluster`), migration, seeding through COPY.
- `http`: `RawHttp`, a minimal HTTP/1.1 keep-alive client on asyncio streams (about 0.05 ms
  of CPU per request, where httpx costs 1-3 ms), so a Python load generator does not measure
  itself; `HttpxHttp` offers the same interface over httpx.AsyncClient.
- `load`: open and closed loops without coordinated omission, in processes of their own.
- `server`: the real `certctl serve` in its own process group, stopped with its workers.
- `report`: percentiles and the printed Markdown tables.
"""

from harness.cpu import CpuSnapshot, cpu_percent, proc_table, settle, tree_cpu_seconds
from harness.database import (
    Cluster,
    Table,
    copy_tables,
    insert_sqlite,
    migrate,
    postmaster_pid,
    scalar,
    seed,
    sqlite_url,
    sqlite_value,
)
from harness.http import HttpxHttp, RawHttp, loop_factory, probe, read_response
from harness.load import (
    TRANSPORT_ERRORS,
    Tally,
    Window,
    generate,
    latency_summary,
    run_clients,
    sleep_until,
)
from harness.machine import CLK_TCK, background_load, machine, machine_busy_seconds, revision
from harness.report import MISSING, cell, markdown_table, percentile
from harness.server import Server, stop_process

__all__ = [
    "CLK_TCK",
    "MISSING",
    "TRANSPORT_ERRORS",
    "Cluster",
    "CpuSnapshot",
    "HttpxHttp",
    "RawHttp",
    "Server",
    "Table",
    "Tally",
    "Window",
    "background_load",
    "cell",
    "copy_tables",
    "cpu_percent",
    "generate",
    "insert_sqlite",
    "latency_summary",
    "loop_factory",
    "machine",
    "machine_busy_seconds",
    "markdown_table",
    "migrate",
    "percentile",
    "postmaster_pid",
    "probe",
    "proc_table",
    "read_response",
    "revision",
    "run_clients",
    "scalar",
    "seed",
    "settle",
    "sleep_until",
    "sqlite_url",
    "sqlite_value",
    "stop_process",
    "tree_cpu_seconds",
]
