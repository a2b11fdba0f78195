"""Run a target's validate and reload commands: argv only, never a shell, killed on timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence

from certctl.domain.targets import refuse_shell_metacharacters
from certctl.errors import InvalidRequest

_OUTPUT_TAIL = 500


class CommandFailed(Exception):
    """A command could not start, exited non-zero or ran past its timeout."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step} command {reason}")
        self.step = step
        self.reason = reason


async def run_command(argv: Sequence[str], *, step: str, deadline: float) -> str:
    """Run `argv` and return its output; raise CommandFailed unless it exits 0 within `deadline` s.

    The metacharacter rule is checked again here, right before anything is executed, so a
    config that reached the agent without the server's check still runs nothing. The command
    gets its own process group so a timeout kills whatever it started as well.
    """
    try:
        refuse_shell_metacharacters(argv, field=f"config.{step}_command")
    except InvalidRequest as exc:
        raise CommandFailed(step, f"refused: {exc.detail}") from exc
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandFailed(step, f"could not start: {exc.strerror or exc}") from exc
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), deadline)
    except TimeoutError:
        await _kill(proc)
        raise CommandFailed(step, f"timed out after {deadline:g} s and was killed") from None
    text = output.decode(errors="replace").strip()[-_OUTPUT_TAIL:]
    if proc.returncode != 0:
        raise CommandFailed(step, f"exited with status {proc.returncode}: {text}")
    return text


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the command's whole process group and reap it."""
    # It may have exited between the timeout and the kill; then nothing is left to stop.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()
