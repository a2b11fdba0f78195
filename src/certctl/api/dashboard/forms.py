"""Reading submitted dashboard forms and reporting their errors next to the fields."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from certctl.errors import CertctlError, FieldError, InvalidRequest


def text(form: FormData, name: str) -> str:
    """One text field, trimmed ('' when absent)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def number(form: FormData, name: str) -> int | str:
    """A whole-number field as an int; other text is passed on for the schema to refuse."""
    value = text(form, name)
    try:
        return int(value, 10)
    except ValueError:
        return value


def optional(form: FormData, name: str) -> str | None:
    """One text field, None when absent or empty (for optional references)."""
    return text(form, name) or None


def values(form: FormData, name: str) -> list[str]:
    """Every value sent under `name` (checkboxes, repeated rows), in document order."""
    return [v for v in form.getlist(name) if isinstance(v, str)]


def checkbox(form: FormData, name: str) -> bool:
    """A ticked checkbox is sent; an unticked one is not."""
    return name in form


def pydantic_errors(exc: ValidationError) -> tuple[FieldError, ...]:
    """Field problems of a schema validation, named like the API names them."""
    return tuple(
        FieldError(".".join(str(p) for p in e["loc"]) or "body", str(e["msg"]))
        for e in exc.errors()
    )


def validate(schema: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Validate `data` with an API input schema and return what the client set."""
    try:
        return schema.model_validate(data).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise InvalidRequest.many(pydantic_errors(exc)) from exc


def error_map(errors: Iterable[FieldError]) -> dict[str, str]:
    """Field path → message, the first message per field, for the template."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(error.field, error.message)
    return found


_INDEX = re.compile(r"\[(\d+)\]|\.(\d+)(?=\.|$)")


def label_of(field: str, labels: Mapping[str, str] | None = None) -> str:
    """The label people see for a field path (`alert_thresholds_days[1]` → row 2 of Thresholds)."""
    base = _INDEX.sub("", field)
    label = (labels or {}).get(base) or base.replace("_", " ").replace(
        ".", " "
    ).strip().capitalize()
    found = _INDEX.search(field)
    if found:
        return f"{label}, row {int(found.group(1) or found.group(2)) + 1}"
    return label


def errors_of(
    exc: CertctlError, labels: Mapping[str, str] | None = None
) -> tuple[dict[str, str], str]:
    """Field errors and the page-level message of a refused form, in the labels people see."""
    fields = error_map(exc.errors)
    if not fields:
        return fields, exc.detail
    named = "; ".join(f"{label_of(f, labels)}: {m}" for f, m in fields.items())
    return fields, f"Nothing was saved. Check the fields marked below — {named}."
