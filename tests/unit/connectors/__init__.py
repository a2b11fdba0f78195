"""Unit tests of certctl.connectors."""
