"""X.509 parsing, signing and secret sealing: the only package that imports cryptography."""
