"""The TOML config file (`--config`, CERTCTL_CONFIG_FILE): equivalent to the environment,
the environment winning, and `certctl config check` (C12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from certctl.cli.main import app
from certctl.errors import ConfigurationError
from certctl.settings import CONFIG_FILE_VARIABLE, load_settings

FILE = """\
server_host = "::1"
server_port = 9443
notification_concurrency = 40
api_keys_named = "ops:0123456789abcdef:admin"
log_format = "console"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "certctl.toml"
    path.write_text(text)
    return path


def _invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_file_values_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every key of the file sets the setting of the same name."""
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(_write(tmp_path, FILE)))
    settings = load_settings()
    assert (settings.server_host, settings.server_port, settings.notification_concurrency) == (
        "::1",
        9443,
        40,
    )
    assert [p.name for p in settings.named_keys().values()] == ["ops"]
    assert settings.log_format == "console"


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CERTCTL_* variable overrides the file's value; the file fills in the rest."""
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(_write(tmp_path, FILE)))
    monkeypatch.setenv("CERTCTL_SERVER_PORT", "8000")
    settings = load_settings()
    assert (settings.server_port, settings.server_host) == (8000, "::1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server_prot = 1\n", "unknown setting 'server_prot'"),
        ("server_port = \n", "not valid TOML"),
        ('server_port = "many"\n', "CERTCTL_SERVER_PORT"),
        ('auth_type = "none"\n', "CERTCTL_AUTH_TYPE=none requires CERTCTL_DEMO_MODE_ACK=true"),
    ],
)
def test_bad_file_is_one_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    """An unknown key, broken TOML or a bad value names the problem."""
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(_write(tmp_path, text)))
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert message in caught.value.detail


def test_missing_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A named file that does not exist is refused, not ignored."""
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigurationError, match=r"nope\.toml: No such file or directory"):
        load_settings()


def test_config_check_accepts_a_valid_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`certctl --config FILE config check` exits 0 and names the file."""
    monkeypatch.delenv(CONFIG_FILE_VARIABLE, raising=False)  # --config sets it; undo after
    path = _write(tmp_path, FILE)
    code, out, _ = _invoke(["--config", str(path), "config", "check"], {})
    assert code == 0
    assert out.strip() == f"configuration is valid (file {path} and environment)"


def test_config_check_reports_the_error_and_exits_2(tmp_path: Path) -> None:
    """A bad value in the file: exit 2 with the one-line error, nothing started."""
    path = _write(tmp_path, "server_workers = 0\n")
    code, _, err = _invoke(["config", "check"], {CONFIG_FILE_VARIABLE: str(path)})
    assert code == 2
    assert err.startswith("error: invalid configuration: CERTCTL_SERVER_WORKERS:")


def test_config_check_refuses_plain_http_beyond_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The serve-time transport rule is checked too: 0.0.0.0 without TLS exits 2."""
    monkeypatch.delenv(CONFIG_FILE_VARIABLE, raising=False)  # --config sets it; undo after
    path = _write(tmp_path, 'server_host = "0.0.0.0"\n')
    code, _, err = _invoke(["--config", str(path), "config", "check"], {})
    assert code == 2
    assert err.startswith("error: refusing to serve plain HTTP on 0.0.0.0")
