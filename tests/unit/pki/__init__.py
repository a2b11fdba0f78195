"""Unit tests of certctl.pki."""
