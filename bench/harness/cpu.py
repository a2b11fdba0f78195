"""CPU accounting per process tree and for the whole machine, from /proc, in % of one core."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.machine import CLK_TCK, machine_busy_seconds


def proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, CPU clock ticks including reaped children) for every live process."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime + stime + cutime + cstime: a backend or worker that exits during a run keeps
        # counting through its parent once reaped.
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return table


def tree_cpu_seconds(
    root: int | None, table: dict[int, tuple[int, int]] | None = None
) -> float | None:
    """CPU seconds used so far by `root` and every live descendant (`table`: one proc_table()
    shared by several calls, read afresh when omitted)."""
    if table is None and root is not None:
        table = proc_table()
    if root is None or table is None or root not in table:
        return None
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    ticks, todo = 0, [root]
    while todo:
        pid = todo.pop()
        ticks += table[pid][1]
        todo.extend(children.get(pid, ()))
    return ticks / CLK_TCK


@dataclass
class CpuSnapshot:
    """CPU seconds of named process trees, of each root's direct children, and the machine."""

    at: float
    trees: dict[str, float | None]
    children: dict[str, dict[int, float]]
    machine: float

    @classmethod
    def take(cls, roots: Mapping[str, int | None]) -> CpuSnapshot:
        table = proc_table()
        trees = {name: tree_cpu_seconds(pid, table) for name, pid in roots.items()}
        children = {
            name: {
                child: tree_cpu_seconds(child, table) or 0.0
                for child, (ppid, _) in table.items()
                if pid is not None and ppid == pid
            }
            for name, pid in roots.items()
        }
        return cls(time.monotonic(), trees, children, machine_busy_seconds())


def cpu_percent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, Any]:
    """`<name>_cpu_pct` per tree, `<name>_children_cpu_pct` (largest first) and the machine's,
    in % of one core over the interval between the snapshots."""
    wall = max(after.at - before.at, 1e-9)

    def share(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(100 * (b - a) / wall, 1)

    out: dict[str, Any] = {"machine_cpu_pct": share(before.machine, after.machine)}
    for name, value in after.trees.items():
        out[f"{name}_cpu_pct"] = share(before.trees.get(name), value)
        split = [
            share(before.children.get(name, {}).get(pid), cpu)
            for pid, cpu in after.children.get(name, {}).items()
        ]
        out[f"{name}_children_cpu_pct"] = sorted((c for c in split if c is not None), reverse=True)
    return out


def settle(roots: Mapping[str, int | None], *, limit: float = 60.0, below: float = 10.0) -> float:
    """Wait until the named trees together use less than `below` % of a core for two
    half-second samples in a row; return the seconds waited."""
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < limit and quiet < 2:
        before = CpuSnapshot.take(roots)
        time.sleep(0.5)
        cpu = cpu_percent(before, CpuSnapshot.take(roots))
        busy = sum(cpu[f"{name}_cpu_pct"] or 0.0 for name in roots)
        quiet = quiet + 1 if busy < below else 0
    return round(time.monotonic() - started, 1)
