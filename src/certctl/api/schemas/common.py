"""Shared schema pieces: strict input base, list envelope, problem document."""

from __future__ import annotations

import re
from types import UnionType
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from certctl.domain.listing import Page
from certctl.errors import InvalidRequest

T = TypeVar("T", bound=BaseModel)

# C0 controls, DEL and what str.splitlines() breaks on: a name with CR/LF would end up in an
# e-mail header or a log line and split it (RFC 5322 §2.2 header injection).
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def _single_line(value: str) -> str:
    if _LINE_BREAKING.search(value):
        raise ValueError("must be a single line without control characters (CR, LF, NUL, tab, …)")
    return value


Line = Annotated[str, AfterValidator(_single_line)]
"""A single-line text field (names, hosts, environments, tags)."""
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_single_line),
]
Description = Annotated[str, StringConstraints(max_length=2000)]
ResourceId = Annotated[
    str, StringConstraints(min_length=1, max_length=128), AfterValidator(_single_line)
]


class In(BaseModel):
    """Base of every request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """Refuse NUL characters anywhere in a field (PostgreSQL text cannot hold them)."""
        if _has_nul(value):
            raise ValueError("must not contain NUL (\\u0000) characters")
        return value

    def changes(self, required: type[BaseModel]) -> dict[str, Any]:
        """Fields the client sent; null is refused for fields `required` does not allow null."""
        sent = self.model_dump(exclude_unset=True)
        for name, value in sent.items():
            target = required.model_fields.get(name)
            if value is None and target is not None and not _nullable(target.annotation):
                raise InvalidRequest(f"{name} cannot be null", field=name)
        return sent


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _nullable(annotation: Any) -> bool:
    """Whether a field's type admits None (`X | None`, `Optional[X]`, `Annotated[X | None, …]`)."""
    if annotation is None or annotation is type(None):
        return True
    if get_origin(annotation) is Annotated:
        return _nullable(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return any(_nullable(arg) for arg in get_args(annotation))
    return False


class Out(BaseModel):
    """Base of every response body, readable straight from domain dataclasses."""

    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    """The list envelope: `{data, total, page, per_page}`."""

    data: list[T]
    total: int = Field(description="True number of matching items.")
    page: int
    per_page: int

    @classmethod
    def of(cls, page: Page[Any], item: type[T]) -> PageOut[T]:
        """Wrap a domain page, converting each item."""
        return cls(
            data=[item.model_validate(i) for i in page.items],
            total=page.total,
            page=page.page,
            per_page=page.per_page,
        )


class FieldProblem(BaseModel):
    """One invalid field."""

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    field: str | None = None
    errors: list[FieldProblem] | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 413, 422, 429)
}
