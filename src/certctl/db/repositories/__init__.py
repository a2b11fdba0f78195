"""Repositories: typed access to one aggregate each; they flush but never commit."""
