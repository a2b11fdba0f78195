"""The `certctl` command line: server commands now, API client commands alongside."""
