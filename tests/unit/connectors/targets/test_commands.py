"""Target commands run without a shell, are re-checked for metacharacters, and die on timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from certctl.connectors.targets.commands import CommandFailed, run_command


async def test_output_of_a_successful_command_is_returned() -> None:
    """A zero exit returns the command's output, stripped."""
    assert await run_command(["/usr/bin/echo", "ok"], step="validate", deadline=5) == "ok"


async def test_metacharacters_are_refused_again_before_running(tmp_path: Path) -> None:
    """An argv that never went through the config parser is still refused, and nothing runs."""
    marker = tmp_path / "ran"
    with pytest.raises(CommandFailed) as info:
        await run_command(["/usr/bin/touch", f"{marker};id"], step="reload", deadline=5)
    assert info.value.step == "reload"
    assert info.value.reason.startswith("refused: argument 1 holds shell metacharacters (';')")
    assert not marker.exists()


async def test_a_failing_command_reports_its_status_and_output() -> None:
    """A non-zero exit is a failure carrying the status and the output's tail."""
    with pytest.raises(CommandFailed) as info:
        await run_command(["/usr/bin/ls", "/nonexistent-dir"], step="validate", deadline=5)
    assert str(info.value).startswith("validate command exited with status 2: /usr/bin/ls: ")


async def test_arguments_reach_the_command_unexpanded(tmp_path: Path) -> None:
    """No shell: spaces stay inside one argument and nothing is split or expanded."""
    out = await run_command(["/usr/bin/printf", "%s,", "a b", "c"], step="validate", deadline=5)
    assert out == "a b,c,"
