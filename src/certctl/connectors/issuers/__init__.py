"""Issuer connectors (C5): one seam, one implementation per kind of certificate authority."""
