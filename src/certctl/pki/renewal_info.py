"""The ARI certID of an issued certificate (RFC 9773 section 4.1), read with cryptography."""

from __future__ import annotations

from cryptography import x509

from certctl.domain.renewal_info import ari_cert_id
from certctl.errors import InvalidRequest
from certctl.pki.facts import split_pem_chain


def certificate_ari_id(pem: str) -> str:
    """The certID of the chain's leaf: its AKI key identifier and its serial number."""
    leaf = split_pem_chain(pem)[0]
    try:
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound as exc:
        raise InvalidRequest(
            "the certificate has no Authority Key Identifier; ARI cannot name it", field="pem"
        ) from exc
    return ari_cert_id(aki.key_identifier or b"", leaf.serial_number)
