"""Periodic work inside the server process: the loop runner and the list of loops."""
