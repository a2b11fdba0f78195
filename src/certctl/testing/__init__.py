"""Reusable real fakes for tests and benchmarks: throwaway PostgreSQL, clocks, test CAs."""
