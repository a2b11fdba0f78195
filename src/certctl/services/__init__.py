"""Use cases: each opens one unit of work, checks rules, writes state and audit together."""
