"""Unit tests of the pure parts of certctl.services."""
