"""certctl: self-hosted certificate lifecycle platform."""

from importlib.metadata import PackageNotFoundError, version

try:
    # One version string, from the installed package's metadata (pyproject.toml): the CLI,
    # /health, the dashboard footer and the API client's User-Agent all report it.
    __version__ = version("certctl")
except PackageNotFoundError:  # pragma: no cover - running from a source tree never installed
    __version__ = "0.0.0+unknown"
