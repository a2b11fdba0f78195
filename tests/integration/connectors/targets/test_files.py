"""The deploy primitive on plain files: layouts, refusals, rollback paths and the target lock."""

from __future__ import annotations

import asyncio
import stat
import sys
from pathlib import Path

import pytest

from certctl.connectors.targets import DeployBundle, DeployFailed, deploy
from certctl.connectors.targets.files import target_lock
from certctl.domain.inventory import TargetType
from certctl.testing import daemons
from certctl.testing.tlscerts import OpensslCA

from .conftest import RecordingSleep, bundle, fingerprint

NAME = "files.deploy.test"


def _modes(directory: Path) -> dict[str, int]:
    """The permission bits of each file in `directory`, by name."""
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """An empty directory the files go to."""
    path = tmp_path / "site"
    path.mkdir()
    return path


async def test_first_deploy_creates_files_with_safe_default_modes(
    site: Path, tmp_path: Path, ca: OpensslCA
) -> None:
    """Certificate 0644, key 0600, chain kept apart when chain_path is given."""
    pair = ca.issue(NAME)
    config = {
        "cert_path": str(site / "a.crt"),
        "key_path": str(site / "a.key"),
        "chain_path": str(site / "chain.pem"),
    }
    outcome = await deploy(TargetType.NGINX, {**config, "validate_command": [], "reload_command": []},
                           bundle(pair), backup_dir=tmp_path / "b")  # fmt: skip
    assert (outcome.changed, outcome.verified, outcome.served_sha256) == (True, False, None)
    assert outcome.leaf_sha256 == fingerprint(pair)
    assert (site / "a.crt").read_text() == pair.cert_pem
    assert (site / "chain.pem").read_text() == pair.chain_pem
    assert (site / "a.key").read_text() == pair.key_pem
    assert _modes(site) == {"a.crt": 0o644, "chain.pem": 0o644, "a.key": 0o600}


async def test_a_file_target_with_a_combined_pem(site: Path, tmp_path: Path, ca: OpensslCA) -> None:
    """A File target with pem_path writes leaf, chain and key in one 0600 file."""
    pair = ca.issue(NAME)
    await deploy(TargetType.FILE, {"pem_path": str(site / "all.pem")}, bundle(pair),
                 backup_dir=tmp_path / "b")  # fmt: skip
    assert (site / "all.pem").read_text() == pair.combined_pem
    assert stat.S_IMODE((site / "all.pem").stat().st_mode) == 0o600


async def test_a_failed_first_deploy_removes_the_files_it_created(
    site: Path, tmp_path: Path, ca: OpensslCA
) -> None:
    """Rolling back a deploy where no file existed leaves the directory empty."""
    config = {"cert_path": str(site / "a.crt"), "validate_command": ["/usr/bin/false"]}
    with pytest.raises(DeployFailed) as info:
        await deploy(TargetType.FILE, config, bundle(ca.issue(NAME)), backup_dir=tmp_path / "b")
    assert info.value.rolled_back is True
    assert _modes(site) == {}


async def test_a_failed_reload_restores_and_reloads_again(
    site: Path, tmp_path: Path, ca: OpensslCA
) -> None:
    """When the reload fails the previous files come back and the reload runs once more."""
    (site / "a.crt").write_text("previous\n")
    log = tmp_path / "reload.log"
    config = {
        "cert_path": str(site / "a.crt"),
        "reload_command": daemons.recording_command(tmp_path, log, ["/usr/bin/false"]),
    }
    with pytest.raises(DeployFailed) as info:
        await deploy(TargetType.FILE, config, bundle(ca.issue(NAME)), backup_dir=tmp_path / "b")
    assert info.value.rolled_back is True
    assert info.value.reason == (
        "reload command exited with status 1: ; files restored but the reload after it "
        "failed: reload command exited with status 1: "
    )
    assert len(log.read_text().splitlines()) == 2
    assert (site / "a.crt").read_text() == "previous\n"


async def test_a_missing_command_fails_with_the_reason(
    site: Path, tmp_path: Path, ca: OpensslCA
) -> None:
    """A validate command that does not exist is reported, and the files are restored."""
    (site / "a.crt").write_text("previous\n")
    config = {"cert_path": str(site / "a.crt"), "validate_command": ["/nonexistent/check"]}
    with pytest.raises(DeployFailed) as info:
        await deploy(TargetType.FILE, config, bundle(ca.issue(NAME)), backup_dir=tmp_path / "b")
    assert info.value.reason == "validate command could not start: No such file or directory"
    assert (site / "a.crt").read_text() == "previous\n"


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"cert_path": "relative.crt"}, "config.cert_path: must be an absolute path"),
        ({"cert_path": "/nonexistent-dir/a.crt"}, "cannot create a file in /nonexistent-dir"),
        ({"cert_path": "{site}/a.crt", "owner": "no-such-user"}, "no such user 'no-such-user'"),
        ({"cert_path": "{site}/a.crt", "group": "no-such-group"}, "no such group 'no-such-group'"),
    ],
)
async def test_refusals_touch_nothing(
    site: Path, tmp_path: Path, ca: OpensslCA, config: dict[str, str], reason: str
) -> None:
    """A bad config, a missing directory or an unknown account fails with nothing written."""
    config = {k: v.replace("{site}", str(site)) for k, v in config.items()}
    with pytest.raises(DeployFailed) as info:
        await deploy(TargetType.FILE, config, bundle(ca.issue(NAME)), backup_dir=tmp_path / "b")
    assert info.value.reason.startswith(reason)
    assert info.value.rolled_back is False
    assert _modes(site) == {}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"key_pem": "not a key"}, "the bundle holds no PEM private key"),
        ({"cert_pem": "not a certificate"}, "the certificate does not parse: "),
    ],
)
async def test_a_bad_bundle_is_refused(
    site: Path, tmp_path: Path, ca: OpensslCA, change: dict[str, str], reason: str
) -> None:
    """A bundle without a key or with an unparsable certificate is refused before any write."""
    pair = ca.issue(NAME)
    fields = {"cert_pem": pair.cert_pem, "chain_pem": pair.chain_pem, "key_pem": pair.key_pem}
    broken = DeployBundle(**{**fields, **change})
    with pytest.raises(DeployFailed) as info:
        await deploy(TargetType.FILE, {"cert_path": str(site / "a.crt")}, broken,
                     backup_dir=tmp_path / "b")  # fmt: skip
    assert info.value.reason.startswith(reason)
    assert _modes(site) == {}


async def test_concurrent_deploys_to_one_target_run_one_at_a_time(
    site: Path, tmp_path: Path, ca: OpensslCA
) -> None:
    """Two deploys started together never overlap: each validate sees no other one running."""
    marker = tmp_path / "running"
    script = tmp_path / "exclusive"
    script.write_text(
        f'#!/bin/sh\n[ -e "{marker}" ] && exit 3\ntouch "{marker}"\nsleep 0.3\nrm "{marker}"\n'
    )
    script.chmod(0o755)
    config = {"cert_path": str(site / "a.crt"), "validate_command": [str(script)]}
    pairs = [ca.issue(NAME), ca.issue(NAME)]
    outcomes = await asyncio.gather(
        *(deploy(TargetType.FILE, config, bundle(p), backup_dir=tmp_path / "b") for p in pairs)
    )
    assert [o.changed for o in outcomes] == [True, True]


async def test_the_lock_file_excludes_another_process(tmp_path: Path) -> None:
    """While another process holds the target's flock, taking the lock waits for its release."""
    slot = tmp_path / "slot"
    slot.mkdir()
    released = tmp_path / "released"
    code = _HOLD.format(path=slot / ".lock", released=released)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert await holder.stdout.readline() == b"locked\n"
    async with target_lock(slot):
        assert released.exists()
    assert await holder.wait() == 0


# Holds the lock for 0.3 s, notes that it lets go, and lets go by exiting.
_HOLD = """
import fcntl, os, pathlib, time
fd = os.open("{path}", os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(0.3)
pathlib.Path("{released}").touch()
"""


def test_a_missing_daemon_binary_fails_rather_than_skips(tmp_path: Path) -> None:
    """Starting a daemon whose binary is absent raises an assertion error, never a skip."""
    with pytest.raises(AssertionError, match="/nonexistent/nginx is not installed"):
        daemons.require_binary("/nonexistent/nginx")


async def test_an_unreachable_endpoint_fails_the_check_and_rolls_back(
    site: Path, tmp_path: Path, ca: OpensslCA
) -> None:
    """Nothing listening at verify_endpoint: five tries with backoff, then the old file is back."""
    (site / "a.crt").write_text("previous\n")
    endpoint = f"127.0.0.1:{daemons.free_port()}"
    sleep = RecordingSleep()
    config = {"cert_path": str(site / "a.crt"), "verify_endpoint": endpoint}
    with pytest.raises(DeployFailed) as info:
        await deploy(TargetType.FILE, config, bundle(ca.issue(NAME)), backup_dir=tmp_path / "b",
                     sleep=sleep)  # fmt: skip
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0]
    assert info.value.reason == f"verification failed: {endpoint}: [Errno 111] Connection refused"
    assert info.value.rolled_back is True
    assert (site / "a.crt").read_text() == "previous\n"


async def test_current_files_with_a_failing_check_report_without_rolling_back(
    site: Path, tmp_path: Path, ca: OpensslCA
) -> None:
    """Same bytes but the endpoint does not serve them: the failure says the files are current."""
    pair = ca.issue(NAME)
    config: dict[str, object] = {"cert_path": str(site / "a.crt")}
    await deploy(TargetType.FILE, config, bundle(pair), backup_dir=tmp_path / "b")
    endpoint = f"127.0.0.1:{daemons.free_port()}"
    with pytest.raises(DeployFailed) as info:
        await deploy(TargetType.FILE, {**config, "verify_endpoint": endpoint}, bundle(pair),
                     backup_dir=tmp_path / "b", sleep=RecordingSleep())  # fmt: skip
    assert info.value.reason.startswith("files are current but verification failed: ")
    assert info.value.rolled_back is False
    assert (site / "a.crt").read_text() == pair.cert_pem + pair.chain_pem


async def test_an_unusable_backup_directory_stops_the_deploy(
    site: Path, tmp_path: Path, ca: OpensslCA
) -> None:
    """Without somewhere to keep the previous files, nothing is replaced."""
    (site / "a.crt").write_text("previous\n")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(DeployFailed) as info:
        await deploy(TargetType.FILE, {"cert_path": str(site / "a.crt")}, bundle(ca.issue(NAME)),
                     backup_dir=not_a_dir / "backups")  # fmt: skip
    assert info.value.reason.startswith(f"cannot create backup directory {not_a_dir}/backups/")
    assert info.value.rolled_back is False
    assert (site / "a.crt").read_text() == "previous\n"


async def test_a_chain_sent_inside_cert_pem_is_split_off(
    site: Path, tmp_path: Path, ca: OpensslCA
) -> None:
    """A leaf-then-chain `cert_pem` fills chain_path with the chain and cert_path with the leaf."""
    pair = ca.issue(NAME)
    config = {"cert_path": str(site / "a.crt"), "chain_path": str(site / "chain.pem")}
    together = DeployBundle(cert_pem=pair.fullchain_pem, chain_pem="", key_pem=pair.key_pem)
    await deploy(TargetType.FILE, config, together, backup_dir=tmp_path / "b")
    assert (site / "a.crt").read_text() == pair.cert_pem
    assert (site / "chain.pem").read_text() == pair.chain_pem
