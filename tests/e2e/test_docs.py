"""Every guide's shell blocks run as pasted, in order, against a fresh demo server each."""

from __future__ import annotations

from pathlib import Path

import pytest

from .guides import GuideFailure, GuideRun, matches, server_env, shell_blocks

ROOT = Path(__file__).parents[2]
GUIDES = (
    "README.md",
    "docs/quickstart.md",
    "docs/cli.md",
    "docs/pki.md",
    "docs/alert-routing.md",
    "docs/dashboard.md",
    "docs/operations.md",
    "docs/agents.md",
    "docs/discovery.md",
    "docs/tutorial.md",
)


@pytest.mark.e2e
@pytest.mark.parametrize("guide", GUIDES)
def test_guide_runs_as_written(guide: str, tmp_path: Path) -> None:
    """Each shell block of the guide succeeds and prints what the guide shows."""
    ran = GuideRun(ROOT / guide, tmp_path).run()
    assert ran > 0


SAMPLE = """\
<!-- docs-test: server -->
```sh
CERTCTL_PUBLIC_URL=http://127.0.0.1:8443 certctl demo
```

```bash
echo "id: mc-1"
```

```text
id: mc-…
```

Not shown output, because of this sentence:

```sh
true
```

Says nothing.

```text
unrelated
```

<!-- docs-test: skip -->
```sh
systemctl restart certctl
```
"""


def test_blocks_markers_and_shown_output_are_read() -> None:
    """Four shell blocks; the text right after the second is its output, the later one is not."""
    blocks = shell_blocks(SAMPLE)
    assert [(b.line, b.marker, b.expected) for b in blocks] == [
        (2, "server", None),
        (6, None, "id: mc-…"),
        (16, None, None),
        (27, "skip", None),
    ]
    assert server_env(blocks[0]) == {"CERTCTL_PUBLIC_URL": "http://127.0.0.1:8443"}


@pytest.mark.parametrize(
    ("shown", "printed", "ok"),
    [
        ("id: mc-…", "id: mc-01abc\n", True),
        ("id: mc-…", "id: job-01abc\n", False),
        ("first\n…\nlast", "first\na\nb\nlast\n", True),
        ("first\n…\nlast", "first\nlast\n", True),
        ("first\nlast", "first\nmiddle\nlast\n", False),
        ("total: 5", "total: 7\n", False),
    ],
)
def test_shown_output_placeholders(shown: str, printed: str, ok: bool) -> None:
    """`…` stands for any text in a line, a lone `…` line for any lines; the rest is exact."""
    assert matches(shown, printed) is ok


def test_a_failing_command_is_named(tmp_path: Path) -> None:
    """A block whose command fails raises with the guide, the line and the command."""
    guide = tmp_path / "guide.md"
    guide.write_text(
        "<!-- docs-test: server -->\n```sh\ncertctl demo\n```\n\n"
        '```sh\nNAME=web\ntest "$NAME" = web\nfalse\necho never\n```\n'
    )
    with pytest.raises(GuideFailure) as failure:
        GuideRun(guide, tmp_path / "work").run()
    assert "guide.md, block at line 6 failed (exit 1)" in str(failure.value)
    assert "docs-test: this command failed (exit 1): false" in str(failure.value)
    assert "never" not in str(failure.value).split("---")[-1]


def test_the_cleanup_block_runs_after_a_failure(tmp_path: Path) -> None:
    """A block fails; the cleanup block still runs, and the failure reported is the first one."""
    guide = tmp_path / "guide.md"
    guide.write_text(
        "<!-- docs-test: server -->\n```sh\ncertctl demo\n```\n\n"
        "```sh\nfalse\n```\n\n"
        "<!-- docs-test: cleanup -->\n```sh\ntouch cleaned\nfalse\n```\n"
    )
    with pytest.raises(GuideFailure) as failure:
        GuideRun(guide, tmp_path / "work").run()
    assert "guide.md, block at line 6 failed (exit 1)" in str(failure.value)
    assert (tmp_path / "work" / "cleaned").is_file()
