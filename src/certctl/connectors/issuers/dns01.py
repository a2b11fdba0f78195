"""DNS-01 (RFC 8555 section 8.4): hook commands that publish the TXT record, and a check
that the record is visible at a chosen resolver before the CA is asked to look.

Hooks are argv lists run without a shell, with a timeout; they receive the record name and
value as their last two arguments and as CERTCTL_ACME_RECORD_NAME / CERTCTL_ACME_RECORD_VALUE.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.resolver

from certctl.connectors.issuers.acme_network import KIND
from certctl.connectors.issuers.base import IssuanceRefused

POLL_SECONDS = 1.0
MAX_OUTPUT = 2000


async def run_hook(
    argv: Sequence[str], *, record_name: str, value: str, limit_seconds: float, step: str
) -> None:
    """Run one hook; a non-zero exit, a timeout or a missing program fails the order."""
    env = {
        **os.environ,
        "CERTCTL_ACME_RECORD_NAME": record_name,
        "CERTCTL_ACME_RECORD_VALUE": value,
    }
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            record_name,
            value,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise IssuanceRefused(f"the DNS {step} hook cannot start: {exc}", connector=KIND) from exc
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), limit_seconds)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise IssuanceRefused(
            f"the DNS {step} hook did not finish within {limit_seconds:g} s", connector=KIND
        ) from None
    if proc.returncode != 0:
        text = stderr.decode(errors="replace").strip()[:MAX_OUTPUT]
        raise IssuanceRefused(
            f"the DNS {step} hook exited with status {proc.returncode}: {text or 'no output'}",
            connector=KIND,
        )


def _resolver(address: str) -> dns.asyncresolver.Resolver:
    """A resolver asking only `address` (IP, IPv4:port or [IPv6]:port), not /etc/resolv.conf."""
    if address.startswith("["):  # [IPv6]:port
        host, _, port = address[1:].partition("]:")
        host = host.rstrip("]")
    elif address.count(":") == 1:  # IPv4:port
        host, _, port = address.partition(":")
    else:  # an address alone
        host, port = address, ""
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port) if port else 53
    resolver.lifetime = 5.0
    return resolver


async def _txt_values(resolver: dns.asyncresolver.Resolver, name: str) -> set[str]:
    try:
        answer = await resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        return set()
    except dns.exception.Timeout:
        return set()
    return {b"".join(record.strings).decode() for record in answer}


async def wait_for_txt(address: str, name: str, value: str, *, limit_seconds: float) -> None:
    """Poll `address` until `name` has a TXT record equal to `value`, or fail the order."""
    resolver = _resolver(address)
    deadline = time.monotonic() + limit_seconds
    while True:
        if value in await _txt_values(resolver, name):
            return
        if time.monotonic() >= deadline:
            raise IssuanceRefused(
                f"the TXT record {name} did not appear at {address} within {limit_seconds:g} s",
                connector=KIND,
            )
        await asyncio.sleep(POLL_SECONDS)
