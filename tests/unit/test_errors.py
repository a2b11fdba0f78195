"""The error tree: parents, HTTP mapping attributes and the data each error carries."""

from __future__ import annotations

import dataclasses

import pytest

from certctl.errors import (
    AuthenticationRequired,
    CAUnavailable,
    CertctlError,
    ConfigurationError,
    Conflict,
    ConnectorError,
    FieldError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PolicyViolation,
    UpstreamError,
)


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (CertctlError, Exception),
        (NotFound, CertctlError),
        (Conflict, CertctlError),
        (InvalidRequest, CertctlError),
        (PolicyViolation, InvalidRequest),
        (AuthenticationRequired, CertctlError),
        (PermissionDenied, CertctlError),
        (PayloadTooLarge, CertctlError),
        (UpstreamError, CertctlError),
        (ConnectorError, UpstreamError),
        (CAUnavailable, UpstreamError),
        (ConfigurationError, CertctlError),
    ],
)
def test_error_has_documented_parent(cls: type[Exception], parent: type[Exception]) -> None:
    """Each error class derives directly from the parent drawn in the errors docstring."""
    assert cls.__bases__ == (parent,)


@pytest.mark.parametrize(
    ("cls", "status", "code", "title"),
    [
        (CertctlError, 500, "internal-error", "Internal error"),
        (NotFound, 404, "not-found", "Not found"),
        (Conflict, 409, "conflict", "Conflict"),
        (InvalidRequest, 400, "invalid-request", "Invalid request"),
        (PolicyViolation, 422, "policy-violation", "Policy violation"),
        (AuthenticationRequired, 401, "unauthenticated", "Authentication required"),
        (PermissionDenied, 403, "forbidden", "Forbidden"),
        (PayloadTooLarge, 413, "payload-too-large", "Payload too large"),
        (UpstreamError, 502, "upstream-error", "Upstream error"),
        (ConnectorError, 502, "connector-error", "Upstream error"),
        (CAUnavailable, 502, "ca-unavailable", "Upstream error"),
        (ConfigurationError, 500, "configuration-error", "Configuration error"),
    ],
)
def test_error_class_carries_http_mapping(
    cls: type[CertctlError], status: int, code: str, title: str
) -> None:
    """Each error class declares the status, problem code and title the API maps it to."""
    assert (cls.status, cls.code, cls.title) == (status, code, title)


def test_base_error_keeps_detail_as_message_with_no_field_errors() -> None:
    """A plain CertctlError exposes its detail as str() and carries no field errors."""
    err = CertctlError("something broke")
    assert (str(err), err.detail, err.errors) == ("something broke", "something broke", ())


def test_base_error_keeps_given_field_errors() -> None:
    """Field errors passed to CertctlError are kept as given."""
    errors = (FieldError("name", "required"),)
    assert CertctlError("bad", errors=errors).errors == errors


def test_not_found_names_resource_type_and_id() -> None:
    """NotFound builds its detail from the resource type and quoted id, and keeps both."""
    err = NotFound("Team", "t-platform")
    assert (err.detail, err.resource_type, err.resource_id) == (
        "Team 't-platform' not found",
        "Team",
        "t-platform",
    )


def test_invalid_request_with_field_records_one_field_error() -> None:
    """An InvalidRequest naming a field carries exactly one FieldError for it."""
    err = InvalidRequest("must be positive", field="per_page")
    assert (err.field, err.errors) == ("per_page", (FieldError("per_page", "must be positive"),))


def test_invalid_request_without_field_has_no_field_errors() -> None:
    """An InvalidRequest without a field has field None and no field errors."""
    err = InvalidRequest("body is not JSON")
    assert (err.field, err.errors, err.detail) == (None, (), "body is not JSON")


def test_invalid_request_many_joins_details_and_names_first_field() -> None:
    """InvalidRequest.many joins every problem into the detail and keeps all field errors."""
    errors = (FieldError("a", "too small"), FieldError("b.c[0]", "unknown"))
    err = InvalidRequest.many(errors)
    assert (err.detail, err.field, err.errors) == ("a: too small; b.c[0]: unknown", "a", errors)


def test_invalid_request_many_of_nothing_is_empty() -> None:
    """InvalidRequest.many with no errors gives an empty detail and no field."""
    err = InvalidRequest.many(())
    assert (err.detail, err.field, err.errors) == ("", None, ())


def test_policy_violation_carries_rule_and_field() -> None:
    """A PolicyViolation names the broken rule and the offending field."""
    err = PolicyViolation("TTL too long", rule="max_ttl", field="ttl_seconds")
    assert (err.rule, err.field, err.errors) == (
        "max_ttl",
        "ttl_seconds",
        (FieldError("ttl_seconds", "TTL too long"),),
    )


def test_connector_error_defaults_to_no_retry_after() -> None:
    """A ConnectorError names its connector and has no retry hint unless given one."""
    err = ConnectorError("503 from PagerDuty", connector="PagerDuty")
    assert (err.detail, err.connector, err.retry_after) == ("503 from PagerDuty", "PagerDuty", None)


def test_connector_error_keeps_retry_after() -> None:
    """A ConnectorError keeps the retry delay it was given."""
    assert ConnectorError("slow down", connector="Slack", retry_after=30.0).retry_after == 30.0


def test_field_error_is_immutable() -> None:
    """FieldError is a frozen value object."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        FieldError("a", "b").field = "c"  # type: ignore[misc]
