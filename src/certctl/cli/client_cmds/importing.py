"""`certs import`: every PEM file of a folder through the API, with a progress bar and summary."""

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
from certctl.cli.client_cmds.session import ClientOptions, err, fail, open_client, out
from certctl.client import CertctlClient, ClientError
from certctl.client.models import Certificate

SUFFIXES = (".pem", ".crt")


@dataclass(frozen=True)
class Outcome:
    """What happened to one file: the certificate it created, or why it failed."""

    file: Path
    certificate: Certificate | None = None
    status: int | None = None
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        """The outcome as the JSON summary lists it."""
        if self.certificate is not None:
            return {"file": str(self.file), "certificate": self.certificate}
        return {"file": str(self.file), "status": self.status, "detail": self.detail}


def pem_files(path: Path) -> list[Path]:
    """The file itself, or a folder's *.pem and *.crt files in name order."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def import_paths(options: ClientOptions, path: Path, fields: Mapping[str, str | None]) -> None:
    """Import every file under ``path`` and print what was created and what failed."""
    files = pem_files(path)
    if not files:
        fail(f"no *.pem or *.crt files in {path}", code=2)
    try:
        outcomes = asyncio.run(_import_all(options, files, fields))
    except ClientError as exc:  # the server could not be reached at all
        fail(exc.message)
    failed = [o for o in outcomes if o.certificate is None]
    if options.json:
        render.print_json(
            {
                "created": [o.as_json() for o in outcomes if o.certificate is not None],
                "failed": [o.as_json() for o in failed],
            }
        )
    else:
        out.print(outcome_table(outcomes))
        out.print(f"{len(outcomes) - len(failed)} created, {len(failed)} failed")
    if failed:
        fail(f"{len(failed)} of {len(outcomes)} files were not imported")


async def _import_all(
    options: ClientOptions, files: Sequence[Path], fields: Mapping[str, str | None]
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
            task = progress.add_task("", total=len(files))
            for file in files:
                progress.update(task, description=file.name)
                outcomes.append(await _import_one(client, file, fields))
                progress.advance(task)
    return outcomes


async def _import_one(
    client: CertctlClient, file: Path, fields: Mapping[str, str | None]
) -> Outcome:
    try:
        pem = await asyncio.to_thread(file.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Outcome(file, detail=f"cannot read a PEM text file: {exc}")
    try:
        created = await client.import_certificate(pem, **fields)
    except ClientError as exc:
        if exc.status is None:
            raise
        return Outcome(file, status=exc.status, detail=exc.message)
    return Outcome(file, certificate=created["certificate"])


def outcome_table(outcomes: Sequence[Outcome]) -> Table:
    """One row per file: created (with the certificate) or failed (with the reason)."""
    table = render.listing(
        "Import", ["File", "Result", "Certificate", "Name or error"], whole=("Certificate",)
    )
    for outcome in outcomes:
        cert = outcome.certificate
        if cert is not None:
            table.add_row(
                outcome.file.name, Text("created", style="green"), cert["id"], cert["name"]
            )
        else:
            table.add_row(
                outcome.file.name, Text("failed", style="red"), render.DASH, outcome.detail
            )
    return table
