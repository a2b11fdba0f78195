"""`certs import`: a PEM file or a folder tree (certbot, acme.sh or loose PEM files) through the
API, with a progress bar and a summary of what was created, skipped and why, and what failed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from certctl.cli.client_cmds import render
from certctl.cli.client_cmds.import_layouts import Unit, discover
from certctl.cli.client_cmds.session import ClientOptions, err, fail, open_client, out
from certctl.client import CertctlClient, ClientError
from certctl.client.models import Certificate
from certctl.errors import InvalidRequest
from certctl.pki.facts import read_pem

SUFFIXES = (".pem", ".crt")


@dataclass(frozen=True)
class Outcome:
    """What happened to one unit: the certificate it created, or why it was skipped or failed."""

    file: Path
    certificate: Certificate | None = None
    status: int | None = None
    detail: str = ""
    skipped: bool = False

    def as_json(self) -> dict[str, Any]:
        """The outcome as the JSON summary lists it."""
        if self.certificate is not None:
            return {"file": str(self.file), "certificate": self.certificate}
        if self.skipped:
            return {"file": str(self.file), "reason": self.detail}
        return {"file": str(self.file), "status": self.status, "detail": self.detail}


def import_paths(options: ClientOptions, path: Path, fields: Mapping[str, str | None]) -> None:
    """Import every certificate under ``path`` and print what was created, skipped, failed."""
    units, skips = discover(path)
    if not units and not skips:
        fail(f"no *.pem, *.crt or *.cer files in {path}", code=2)
    try:
        outcomes = asyncio.run(_import_all(options, units, fields))
    except ClientError as exc:  # the server could not be reached at all
        fail(exc.message)
    outcomes += [Outcome(s.path, detail=s.reason, skipped=True) for s in skips]
    created = [o for o in outcomes if o.certificate is not None]
    skipped = [o for o in outcomes if o.skipped]
    failed = [o for o in outcomes if o.certificate is None and not o.skipped]
    if options.json:
        render.print_json(
            {
                "created": [o.as_json() for o in created],
                "skipped": [o.as_json() for o in skipped],
                "failed": [o.as_json() for o in failed],
            }
        )
    else:
        out.print(outcome_table(outcomes))
        out.print(f"{len(created)} created, {len(skipped)} skipped, {len(failed)} failed")
    if failed:
        fail(f"{len(failed)} of {len(created) + len(failed)} files were not imported")


async def _import_all(
    options: ClientOptions, units: Sequence[Unit], fields: Mapping[str, str | None]
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    columns = (
        TextColumn("Importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    async with open_client(options) as client:
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("", total=len(units))
            for unit in units:
                progress.update(task, description=unit.files[0].name)
                outcomes.append(await _import_one(client, unit, fields))
                progress.advance(task)
    return outcomes


def _read(unit: Unit) -> str:
    return "".join(path.read_text(encoding="utf-8") for path in unit.files)


def _ca_alone(pem: str) -> bool:
    """A CA certificate on its own (an intermediate or root file) is no managed certificate."""
    try:
        facts, _ = read_pem(pem)
    except InvalidRequest:
        return False  # the server names what is wrong with it
    return facts.is_ca


async def _import_one(
    client: CertctlClient, unit: Unit, fields: Mapping[str, str | None]
) -> Outcome:
    file = unit.files[0]
    try:
        pem = await asyncio.to_thread(_read, unit)
    except (OSError, UnicodeDecodeError) as exc:
        return Outcome(file, detail=f"cannot read a PEM text file: {exc}")
    if unit.layout == "pem" and _ca_alone(pem):
        return Outcome(
            file, detail="a CA certificate alone is not a managed certificate", skipped=True
        )
    try:
        created = await client.import_certificate(pem, name=unit.name, **fields)
    except ClientError as exc:
        if exc.status is None:
            raise
        return Outcome(file, status=exc.status, detail=exc.message)
    return Outcome(file, certificate=created["certificate"])


def outcome_table(outcomes: Sequence[Outcome]) -> Table:
    """One row per file: created (with the certificate), skipped or failed (with the reason)."""
    table = render.listing(
        "Import", ["File", "Result", "Certificate", "Name or error"], whole=("Certificate",)
    )
    for outcome in outcomes:
        cert = outcome.certificate
        if cert is not None:
            table.add_row(
                outcome.file.name, Text("created", style="green"), cert["id"], cert["name"]
            )
        elif outcome.skipped:
            table.add_row(
                outcome.file.name, Text("skipped", style="yellow"), render.DASH, outcome.detail
            )
        else:
            table.add_row(
                outcome.file.name, Text("failed", style="red"), render.DASH, outcome.detail
            )
    return table
