"""DNS-01 hooks: argv without a shell, the record as arguments and environment, timeouts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from certctl.connectors.issuers.base import IssuanceRefused
from certctl.connectors.issuers.dns01 import run_hook, wait_for_txt
from certctl.testing.postgres import free_port


async def test_a_hook_receives_the_record_as_arguments_and_environment(tmp_path: Path) -> None:
    """The name and value are the last two arguments and CERTCTL_ACME_RECORD_* variables."""
    out = tmp_path / "seen.json"
    script = (
        "import json, os, sys\n"
        f"open({str(out)!r}, 'w').write(json.dumps([sys.argv[1:], "
        "os.environ['CERTCTL_ACME_RECORD_NAME'], os.environ['CERTCTL_ACME_RECORD_VALUE']]))\n"
    )
    await run_hook(
        [sys.executable, "-c", script, "--zone", "example.com; rm -rf /"],
        record_name="_acme-challenge.a.example.com",
        value="v4lue",
        limit_seconds=30,
        step="present",
    )
    assert json.loads(out.read_text()) == [
        ["--zone", "example.com; rm -rf /", "_acme-challenge.a.example.com", "v4lue"],
        "_acme-challenge.a.example.com",
        "v4lue",
    ]


async def test_a_hook_over_its_time_is_killed_and_named() -> None:
    """A hook still running at its limit is killed; the order fails saying so."""
    with pytest.raises(IssuanceRefused) as caught:
        await run_hook(
            [sys.executable, "-c", "import time; time.sleep(30)"],
            record_name="n",
            value="v",
            limit_seconds=0.3,
            step="cleanup",
        )
    assert caught.value.detail == "the DNS cleanup hook did not finish within 0.3 s"


async def test_a_missing_program_is_named() -> None:
    """An argv whose program does not exist fails before anything runs."""
    with pytest.raises(IssuanceRefused) as caught:
        await run_hook(
            ["/nonexistent/hook"], record_name="n", value="v", limit_seconds=5, step="present"
        )
    assert caught.value.detail.startswith("the DNS present hook cannot start: ")


async def test_propagation_gives_up_at_its_limit() -> None:
    """A resolver that never shows the record fails the order naming record and resolver."""
    resolver = f"127.0.0.1:{free_port()}"
    with pytest.raises(IssuanceRefused) as caught:
        await wait_for_txt(resolver, "_acme-challenge.a.example.com", "v", limit_seconds=0.5)
    assert caught.value.detail == (
        f"the TXT record _acme-challenge.a.example.com did not appear at {resolver} within 0.5 s"
    )
