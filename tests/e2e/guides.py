"""Run a guide's shell blocks in order against its own demo server, as a reader would paste them.

A guide is Markdown. Its fenced `sh`/`bash`/`shell` blocks run in order in bash (`set -euo
pipefail`), each in the working directory and with the variables and shell functions the
blocks before it left.
A `text` block that follows a shell block with nothing but blank lines between is the output
the reader should see: the block's standard output and error must match it, line by line,
where `…` inside a line stands for any text and a line holding only `…` for any lines.
Commands see a 100-column terminal (`COLUMNS=100`) and no standard input.

An HTML comment on the line before a block changes how it is treated:

- `<!-- docs-test: server -->`: the block starts the demo server. The runner starts
  `certctl demo` itself, with the `NAME=value` assignments written before `certctl demo`
  on the block's last line, on a free port; every `127.0.0.1:8443` in the guide is read as
  that port. Each guide has exactly one such block, before its first shell block.
- `<!-- docs-test: skip -->`: the block cannot run here (a real host, systemd, a clone).
- `<!-- docs-test: cleanup -->`: the guide's last block, which stops what the guide started in
  the background (an agent, nginx). It runs even when an earlier block failed, so a failing
  guide leaves no process behind; the first failure is the one reported.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from certctl.testing.postgres import free_port
from certctl.testing.process import serving_demo

SHELLS = {"sh", "bash", "shell"}
DEFAULT_ADDRESS = "127.0.0.1:8443"
BLOCK_TIMEOUT_SECONDS = 120
_FENCE = re.compile(r"^```([A-Za-z0-9_-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*docs-test:\s*(server|skip|cleanup)\s*-->\s*$")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
BIN = str(Path(sys.executable).parent)


@dataclass
class Block:
    """One fenced shell block, where it starts, and the output shown after it."""

    line: int
    code: str
    marker: str | None = None
    expected: str | None = None


class GuideFailure(AssertionError):
    """A command of a guide failed, or printed something else than the guide shows."""


def shell_blocks(markdown: str) -> list[Block]:
    """The guide's shell blocks in order, each with its marker and shown output."""
    lines = markdown.splitlines()
    shells: list[Block] = []
    last: tuple[str, int] | None = None  # language and closing line of the previous fence
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        start = index
        index += 1
        while index < len(lines) and not lines[index].startswith("```"):
            index += 1
        language, text = fence.group(1), "\n".join(lines[start + 1 : index])
        if language in SHELLS:
            marker = _MARKER.match(lines[start - 1]) if start else None
            shells.append(Block(start + 1, text, marker.group(1) if marker else None))
        elif language == "text" and _follows_shell(lines, last, start):
            shells[-1].expected = text
        last = (language, index)
        index += 1
    return shells


def _follows_shell(lines: list[str], last: tuple[str, int] | None, start: int) -> bool:
    """Whether the fence at ``start`` comes right after a shell block (blank lines between)."""
    if last is None or last[0] not in SHELLS:
        return False
    return all(not line.strip() for line in lines[last[1] + 1 : start])


def output_pattern(expected: str) -> re.Pattern[str]:
    """A regex for shown output: `…` is any text in a line; a lone `…` line is any lines."""
    parts = []
    for raw in expected.rstrip("\n").splitlines():
        line = raw.rstrip()
        if line == "…":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("…")) + r"\n")
    return re.compile("".join(parts))


def matches(expected: str, actual: str) -> bool:
    """Whether the command's output is what the guide shows."""
    tidy = "".join(line.rstrip() + "\n" for line in actual.rstrip().splitlines())
    return output_pattern(expected).fullmatch(tidy) is not None


def server_env(block: Block) -> dict[str, str]:
    """The NAME=value assignments before `certctl demo` on the server block's last line."""
    words = shlex.split(block.code.strip().splitlines()[-1])
    return dict(w.split("=", 1) for w in words if _ASSIGNMENT.match(w))


class GuideRun:
    """One guide against its own demo server, in its own working directory."""

    def __init__(self, guide: Path, workdir: Path) -> None:
        self.guide = guide
        self.workdir = workdir
        self.state = workdir / ".docs-state"
        self.state.mkdir(parents=True)
        self.blocks = shell_blocks(guide.read_text())

    def run(self) -> int:
        """Start the demo, run every block; answer how many ran. Raises GuideFailure."""
        servers = [b for b in self.blocks if b.marker == "server"]
        if len(servers) != 1 or self.blocks[0] is not servers[0]:
            raise GuideFailure(f"{self.guide}: needs exactly one server block, before the rest")
        port = free_port()
        address = f"127.0.0.1:{port}"
        env = {k: v.replace(DEFAULT_ADDRESS, address) for k, v in server_env(servers[0]).items()}
        cleanup = [b for b in self.blocks if b.marker == "cleanup"]
        if len(cleanup) > 1 or (cleanup and self.blocks[-1] is not cleanup[0]):
            raise GuideFailure(f"{self.guide}: a cleanup block must be the guide's last block")
        with serving_demo(self.workdir / "var", env, port=port):
            ran = 0
            try:
                for block in self.blocks[1:]:
                    if block.marker not in {"skip", "cleanup"}:
                        self._run_block(block, address)
                        ran += 1
            finally:
                if cleanup:
                    self._after_failure_too(cleanup[0], address)
        return ran + len(cleanup)

    def _after_failure_too(self, block: Block, address: str) -> None:
        """Run the cleanup block; its own failure is raised only when nothing failed before."""
        failing = sys.exc_info()[1] is not None
        try:
            self._run_block(block, address)
        except (GuideFailure, subprocess.TimeoutExpired):
            if not failing:
                raise

    def _run_block(self, block: Block, address: str) -> None:
        code = block.code.replace(DEFAULT_ADDRESS, address).replace("localhost:8443", address)
        result = subprocess.run(
            ["bash", "-c", self._script(code)],
            cwd=self.workdir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_SECONDS,
            check=False,
        )
        where = f"{self.guide.name}, block at line {block.line}"
        output = result.stdout
        if result.returncode != 0:
            raise GuideFailure(f"{where} failed (exit {result.returncode}):\n{code}\n---\n{output}")
        if block.expected is not None:
            shown = block.expected.replace(DEFAULT_ADDRESS, address)
            if not matches(shown, output):
                raise GuideFailure(
                    f"{where}: output differs from the guide\n{code}\n--- guide shows\n{shown}"
                    f"\n--- command printed\n{output}"
                )

    def _env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
        return {**base, "PATH": f"{BIN}:{base.get('PATH', '')}", "COLUMNS": "100"}

    def _script(self, code: str) -> str:
        """The block wrapped to resume the previous blocks' variables and directory."""
        state = shlex.quote(str(self.state))
        return f"""
set -euo pipefail
cd "$(cat {state}/pwd 2>/dev/null || pwd)"
[ -f {state}/vars ] && source {state}/vars
exec 2>&1
trap 'echo "docs-test: this command failed (exit $?): $BASH_COMMAND"' ERR
{code}
trap - ERR
pwd > {state}/pwd
for name in $(compgen -v); do
  case "$name" in
    BASH*|COMP*|DIRSTACK|EUID|FUNCNAME|GROUPS|HIST*|HOSTNAME|HOSTTYPE|IFS|LINENO|MACHTYPE|\
OLDPWD|OPTERR|OPTIND|OSTYPE|PIPESTATUS|PPID|PS4|PWD|RANDOM|SECONDS|SHELLOPTS|SHLVL|SRANDOM|\
UID|_|name|EPOCH*|LINES|COLUMNS|PATH|HOME) ;;
    *) declare -p "$name" ;;
  esac
done > {state}/vars
declare -f >> {state}/vars
"""
