"""Pydantic request and response models of the REST API (persistence never leaks here)."""
