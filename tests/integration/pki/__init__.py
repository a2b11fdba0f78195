"""Local CA: issuance from CSRs, revocation, DER CRL and OCSP, checked with openssl."""
