"""Real nginx, Apache and HAProxy on loopback for deployment tests, each with a private config.

Every daemon runs from a work directory of its own (config, pid file, logs, certificate
files) on a free 127.0.0.1 port, serving TLS with the certificate files the caller gave. The
returned object names the files a deploy should replace and the argv of the daemon's own
validate and reload commands, ready to put in a target config. A missing binary raises
`DaemonUnavailable`, so a test that needs the daemon fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NGINX = "/usr/sbin/nginx"
APACHE = "/usr/sbin/apache2"
HAPROXY = "/usr/sbin/haproxy"
APACHE_MODULES = Path("/usr/lib/apache2/modules")
_START_TIMEOUT = 15.0


class DaemonUnavailable(AssertionError):
    """The daemon's binary is not installed (CI installs it; a test must not skip it)."""


@dataclass(frozen=True)
class Daemon:
    """A running daemon serving TLS on `port` from the files in `workdir`."""

    name: str
    workdir: Path
    port: int
    pid_file: Path
    validate_command: tuple[str, ...]
    reload_command: tuple[str, ...]
    files: dict[str, Path]

    @property
    def endpoint(self) -> str:
        """`127.0.0.1:port`, as a target's verify_endpoint."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The master process id from the pid file."""
        return int(self.pid_file.read_text().split()[0])

    def target_config(self, **extra: object) -> dict[str, object]:
        """A target config deploying to this daemon's files with its own commands."""
        return {
            **{key: str(path) for key, path in self.files.items()},
            "validate_command": list(self.validate_command),
            "reload_command": list(self.reload_command),
            "verify_endpoint": self.endpoint,
            **extra,
        }

    def log(self) -> str:
        """The daemon's error log, for assertion messages."""
        path = self.workdir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_binary(path: str) -> str:
    """Return `path` if it is an executable, else raise DaemonUnavailable."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise DaemonUnavailable(f"{path} is not installed (apt-get install it)")
    return path


def write_pair(workdir: Path, stem: str, cert_pem: str, key_pem: str) -> tuple[Path, Path]:
    """Write a certificate (with chain) and key as `stem.crt` and `stem.key`."""
    cert, key = workdir / f"{stem}.crt", workdir / f"{stem}.key"
    cert.write_text(cert_pem)
    key.write_text(key_pem)
    key.chmod(0o600)
    return cert, key


def start_nginx(workdir: Path, *, cert_pem: str, key_pem: str) -> Daemon:
    """Start nginx (`-p workdir -c nginx.conf`) serving the pair on a free loopback port."""
    binary = require_binary(NGINX)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "tmp").mkdir(exist_ok=True)
    cert, key = write_pair(workdir, "site", cert_pem, key_pem)
    port, conf = free_port(), workdir / "nginx.conf"
    temp = workdir / "tmp"
    conf.write_text(
        f"pid {workdir}/nginx.pid;\nerror_log {workdir}/error.log warn;\n"
        "worker_processes 1;\nevents { worker_connections 64; }\n"
        "http {\n  access_log off;\n"
        f"  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
        f"  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n"
        f"  scgi_temp_path {temp}/scgi;\n"
        f"  server {{\n    listen 127.0.0.1:{port} ssl;\n"
        f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n"
        "    return 200 'ok';\n  }\n}\n"
    )
    base = (binary, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf))
    daemon = Daemon(
        name="nginx",
        workdir=workdir,
        port=port,
        pid_file=workdir / "nginx.pid",
        validate_command=(*base, "-t", "-q"),
        reload_command=(*base, "-s", "reload"),
        files={"cert_path": cert, "key_path": key},
    )
    _launch(daemon, [*base])
    return daemon


def start_apache(workdir: Path, *, cert_pem: str, key_pem: str) -> Daemon:
    """Start Debian's apache2 (`-f httpd.conf -d workdir -k start`) with mod_ssl on loopback."""
    binary = require_binary(APACHE)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "htdocs").mkdir(exist_ok=True)
    cert, key = write_pair(workdir, "site", cert_pem, key_pem)
    port, conf = free_port(), workdir / "httpd.conf"
    modules = "".join(
        f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so\n"
        for name in ("mpm_event", "authz_core", "socache_shmcb", "ssl")
    )
    # apache2 refuses to serve as root; its workers drop to nobody after binding.
    conf.write_text(
        f"ServerRoot {workdir}\n{modules}ServerName localhost\nListen 127.0.0.1:{port}\n"
        f"PidFile {workdir}/apache.pid\nErrorLog {workdir}/error.log\nLogLevel warn\n"
        f"DefaultRuntimeDir {workdir}\nMutex file:{workdir} default\n"
        "User nobody\nGroup nogroup\nSSLSessionCache none\n"
        f"DocumentRoot {workdir}/htdocs\n"
        f"<VirtualHost 127.0.0.1:{port}>\n  SSLEngine on\n"
        f"  SSLCertificateFile {cert}\n  SSLCertificateKeyFile {key}\n</VirtualHost>\n"
    )
    base = (binary, "-f", str(conf), "-d", str(workdir))
    daemon = Daemon(
        name="apache",
        workdir=workdir,
        port=port,
        pid_file=workdir / "apache.pid",
        validate_command=(*base, "-t"),
        reload_command=(*base, "-k", "graceful"),
        files={"cert_path": cert, "key_path": key},
    )
    _launch(daemon, [*base, "-k", "start"])
    return daemon


def start_haproxy(workdir: Path, *, pem: str) -> Daemon:
    """Start HAProxy in master-worker mode (`-W -D -p pidfile`) serving a combined PEM.

    Reloading is `kill -USR2 <master pid>`: the master re-reads its config and certificates
    and starts new workers, as Debian's systemd unit does on `systemctl reload haproxy`.
    """
    binary = require_binary(HAPROXY)
    workdir.mkdir(parents=True, exist_ok=True)
    combined = workdir / "site.pem"
    combined.write_text(pem)
    combined.chmod(0o600)
    port, conf = free_port(), workdir / "haproxy.cfg"
    conf.write_text(
        "global\n  maxconn 64\n"
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n"
        "  timeout server 5s\n"
        f"frontend tls\n  bind 127.0.0.1:{port} ssl crt {combined}\n"
        "  http-request return status 200 content-type text/plain string ok\n"
    )
    pid_file = workdir / "haproxy.pid"
    daemon_args = [binary, "-W", "-D", "-f", str(conf), "-p", str(pid_file)]
    _launch_quiet(daemon_args, workdir)
    _wait_listening(port, workdir, "haproxy")
    pid = int(pid_file.read_text().split()[0])
    return Daemon(
        name="haproxy",
        workdir=workdir,
        port=port,
        pid_file=pid_file,
        validate_command=(binary, "-c", "-q", "-f", str(conf)),
        reload_command=(_kill_binary(), "-USR2", str(pid)),
        files={"pem_path": combined},
    )


def _kill_binary() -> str:
    found = shutil.which("kill")
    if found is None:
        raise DaemonUnavailable("kill (procps) is not installed")
    return found


def stop(daemon: Daemon, timeout: float = 10.0) -> None:
    """SIGTERM the daemon's master and wait until it is gone (SIGKILL past `timeout`)."""
    try:
        pid = daemon.pid
    except (FileNotFoundError, ValueError):
        return
    if not _signal(pid, signal.SIGTERM):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    _signal(pid, signal.SIGKILL)


def recording_command(workdir: Path, log: Path, argv: Sequence[str]) -> list[str]:
    """An argv that appends one line to `log`, then runs `argv`: proves whether a command ran."""
    script = workdir / "record-then-run"
    if not script.exists():
        script.write_text('#!/bin/sh\nlog="$1"\nshift\necho "$*" >> "$log"\nexec "$@"\n')
        script.chmod(0o755)
    return [str(script), str(log), *argv]


def hanging_command(workdir: Path, pid_file: Path) -> list[str]:
    """An argv that writes its pid to `pid_file`, then sleeps for a minute."""
    script = workdir / "hang"
    script.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec sleep 60\n')
    script.chmod(0o755)
    return [str(script)]


def is_running(pid: int) -> bool:
    """Whether a process with this id exists (and is not a zombie)."""
    return _alive(pid)


def _launch(daemon: Daemon, argv: list[str]) -> None:
    _launch_quiet(argv, daemon.workdir)
    _wait_listening(daemon.port, daemon.workdir, daemon.name)


def _launch_quiet(argv: list[str], workdir: Path) -> None:
    result = subprocess.run(  # noqa: S603 - fixed daemon binaries with test-made arguments
        argv, cwd=workdir, capture_output=True, text=True, timeout=_START_TIMEOUT, check=False
    )
    if result.returncode != 0:
        log = (workdir / "error.log").read_text() if (workdir / "error.log").exists() else ""
        raise AssertionError(f"{argv[0]} failed to start: {result.stderr}{result.stdout}{log}")


def _wait_listening(port: int, workdir: Path, name: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"{name} did not listen on {port}: {_tail(workdir / 'error.log')}")


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"


def _signal(pid: int, sig: signal.Signals) -> bool:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
