"""Unit tests of certctl.domain."""
