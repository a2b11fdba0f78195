"""Unit tests: pure functions and values, no database, no network."""
