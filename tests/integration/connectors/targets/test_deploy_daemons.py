"""Deploys to real nginx, Apache and HAProxy: served leaf, rollback, no-op, backups, timeouts."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from certctl.connectors.targets import DeployBundle, DeployFailed, deploy
from certctl.domain.inventory import TargetType
from certctl.testing import daemons
from certctl.testing.tlscerts import OpensslCA

from .conftest import RecordingSleep, Site, bundle, fingerprint


def _backups(site: Site) -> list[Path]:
    slots = [p for p in site.backup_dir.iterdir() if p.is_dir()]
    assert len(slots) == 1
    return sorted(p for p in slots[0].iterdir() if p.is_dir())


async def test_deploy_reloads_and_the_new_leaf_is_served(site: Site) -> None:
    """A deploy writes the files, reloads the daemon and the handshake shows the new leaf."""
    assert await site.served() == fingerprint(site.first)
    second = site.ca.issue("www.deploy.test")
    outcome = await deploy(
        site.target_type, site.config(), bundle(second), backup_dir=site.backup_dir
    )
    assert (outcome.changed, outcome.verified) == (True, True)
    assert outcome.leaf_sha256 == outcome.served_sha256 == fingerprint(second)
    assert sorted(outcome.files) == sorted(str(p) for p in site.daemon.files.values())
    assert await site.serves_eventually(fingerprint(second)) == fingerprint(second)


async def test_a_renewal_changes_the_served_fingerprint(site: Site) -> None:
    """Two deploys in a row: each one's leaf is served in turn."""
    second, third = site.ca.issue("www.deploy.test"), site.ca.issue("www.deploy.test")
    for pair in (second, third):
        await deploy(site.target_type, site.config(), bundle(pair), backup_dir=site.backup_dir)
        assert await site.serves_eventually(fingerprint(pair)) == fingerprint(pair)
    assert fingerprint(second) != fingerprint(third)


async def test_failing_validation_rolls_back_and_the_old_leaf_stays(site: Site) -> None:
    """A key that does not match its certificate fails `-t`/`-c`; files and service are unchanged."""
    before = site.file_bytes()
    good, other = site.ca.issue("www.deploy.test"), site.ca.issue("www.deploy.test")
    broken = DeployBundle(good.cert_pem, good.chain_pem, other.key_pem)
    config = site.config()
    if site.kind == "apache":
        # apache2 -t checks the syntax only and never loads the certificates.
        config["validate_command"] = ["/usr/bin/false"]
    with pytest.raises(DeployFailed) as info:
        await deploy(site.target_type, config, broken, backup_dir=site.backup_dir)
    assert info.value.rolled_back is True
    assert info.value.reason.startswith("validate command exited with status 1")
    assert site.file_bytes() == before
    assert await site.served() == fingerprint(site.first)


async def test_same_bytes_twice_is_a_no_op(site: Site, tmp_path: Path) -> None:
    """Deploying the bytes already in place runs no command and writes nothing."""
    log = tmp_path / "reloads.log"
    reload = daemons.recording_command(tmp_path, log, site.daemon.reload_command)
    config = site.config(reload_command=reload)
    second = site.ca.issue("www.deploy.test")
    first_run = await deploy(site.target_type, config, bundle(second), backup_dir=site.backup_dir)
    mtimes = [p.stat().st_mtime_ns for p in site.daemon.files.values()]
    again = await deploy(site.target_type, config, bundle(second), backup_dir=site.backup_dir)
    assert (first_run.changed, again.changed) == (True, False)
    assert again.verified is True
    assert len(log.read_text().splitlines()) == 1
    assert [p.stat().st_mtime_ns for p in site.daemon.files.values()] == mtimes
    assert len(_backups(site)) == 1


async def test_backups_are_pruned_to_the_configured_number(site: Site) -> None:
    """With backups=2, four deploys leave the two newest backups, holding the previous files."""
    pairs = [site.ca.issue("www.deploy.test") for _ in range(4)]
    previous = {}
    for pair in pairs:
        previous = site.file_bytes()
        await deploy(
            site.target_type, site.config(backups=2), bundle(pair), backup_dir=site.backup_dir
        )
    kept = _backups(site)
    assert len(kept) == 2
    assert {key: (kept[-1] / key).read_bytes() for key in previous} == previous
    assert stat.S_IMODE(kept[-1].stat().st_mode) == 0o700


async def test_owner_and_mode_of_the_previous_files_are_kept(site: Site) -> None:
    """Files owned nobody:nogroup 0640 before a deploy are owned and moded the same after."""
    for path in site.daemon.files.values():
        os.chown(path, 65534, 65534)
        path.chmod(0o640)
    await deploy(
        site.target_type,
        site.config(),
        bundle(site.ca.issue("www.deploy.test")),
        backup_dir=site.backup_dir,
    )
    for path in site.daemon.files.values():
        info = path.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o640)


async def test_configured_owner_and_mode_win(site: Site) -> None:
    """`owner`, `group` and `mode` in the config override what the previous files had."""
    config = site.config(owner="nobody", group="nogroup", mode="0600")
    await deploy(
        site.target_type,
        config,
        bundle(site.ca.issue("www.deploy.test")),
        backup_dir=site.backup_dir,
    )
    for path in site.daemon.files.values():
        info = path.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o600)


async def test_shell_metacharacters_are_refused_before_anything_runs(
    site: Site, tmp_path: Path
) -> None:
    """A reload command with `$(…)` stops the deploy before validation runs or a file is written."""
    log = tmp_path / "validate.log"
    config = site.config(
        validate_command=daemons.recording_command(tmp_path, log, site.daemon.validate_command),
        reload_command=[*site.daemon.reload_command, "$(touch /tmp/pwned)"],
    )
    before = site.file_bytes()
    with pytest.raises(DeployFailed) as info:
        await deploy(
            site.target_type,
            config,
            bundle(site.ca.issue("www.deploy.test")),
            backup_dir=site.backup_dir,
        )
    assert info.value.rolled_back is False
    assert info.value.reason.startswith("config.reload_command: argument ")
    assert not log.exists()
    assert not site.backup_dir.exists()
    assert site.file_bytes() == before


async def test_a_hanging_command_is_killed_and_rolled_back(site: Site, tmp_path: Path) -> None:
    """A validate command past its 1 s timeout is killed, the files restored, the old leaf served."""
    pid_file = tmp_path / "hang.pid"
    config = site.config(
        validate_command=daemons.hanging_command(tmp_path, pid_file), command_timeout_seconds=1
    )
    before = site.file_bytes()
    with pytest.raises(DeployFailed) as info:
        await deploy(
            site.target_type,
            config,
            bundle(site.ca.issue("www.deploy.test")),
            backup_dir=site.backup_dir,
        )
    assert info.value.reason == "validate command timed out after 1 s and was killed"
    assert info.value.rolled_back is True
    assert daemons.is_running(int(pid_file.read_text())) is False
    assert site.file_bytes() == before
    assert await site.served() == fingerprint(site.first)


async def test_an_endpoint_serving_another_leaf_fails_and_rolls_back(
    site: Site, decoy: daemons.Daemon
) -> None:
    """Verification against an endpoint serving something else retries, fails and restores."""
    sleep = RecordingSleep()
    before = site.file_bytes()
    second = site.ca.issue("www.deploy.test")
    with pytest.raises(DeployFailed) as info:
        await deploy(
            site.target_type,
            site.config(verify_endpoint=decoy.endpoint, verify_server_name="www.deploy.test"),
            bundle(second),
            backup_dir=site.backup_dir,
            sleep=sleep,
        )
    assert sleep.delays == [0.5, 1.0, 2.0, 4.0]
    assert info.value.rolled_back is True
    assert info.value.reason.startswith(f"verification failed: {decoy.endpoint} serves leaf ")
    assert site.file_bytes() == before
    assert await site.serves_eventually(fingerprint(site.first)) == fingerprint(site.first)


async def test_without_rollback_on_verify_failure_the_new_files_stay(
    site: Site, decoy: daemons.Daemon
) -> None:
    """rollback_on_verify_failure=false reports the mismatch and leaves the new leaf in place."""
    second = site.ca.issue("www.deploy.test")
    config = site.config(verify_endpoint=decoy.endpoint, rollback_on_verify_failure=False)
    with pytest.raises(DeployFailed) as info:
        await deploy(
            site.target_type, config, bundle(second), backup_dir=site.backup_dir,
            sleep=RecordingSleep(),
        )  # fmt: skip
    assert info.value.rolled_back is False
    assert await site.serves_eventually(fingerprint(second)) == fingerprint(second)


async def test_apache_killed_by_a_bad_key_is_brought_back_with_the_old_one(
    ca: OpensslCA, tmp_path: Path
) -> None:
    """apache2 -t passes a mismatched key, the graceful restart then stops Apache; the rollback
    restores the files and the second graceful starts it serving the previous leaf again."""
    first = ca.issue("www.deploy.test")
    daemon = daemons.start_apache(
        tmp_path / "apache", cert_pem=first.fullchain_pem, key_pem=first.key_pem
    )
    try:
        good, other = ca.issue("www.deploy.test"), ca.issue("www.deploy.test")
        broken = DeployBundle(good.cert_pem, good.chain_pem, other.key_pem)
        with pytest.raises(DeployFailed) as info:
            await deploy(TargetType.APACHE, daemon.target_config(), broken,
                         backup_dir=tmp_path / "backups")  # fmt: skip
        assert info.value.rolled_back is True
        assert info.value.reason == (
            f"verification failed: {daemon.endpoint}: [Errno 111] Connection refused"
        )
        site = Site("apache", TargetType.APACHE, daemon, ca, first, tmp_path)
        assert await site.serves_eventually(fingerprint(first)) == fingerprint(first)
    finally:
        daemons.stop(daemon)
