"""Validation errors shared by the server and the app.

A `FieldError` names the field, carries a stable machine code and an English sentence; the Chinese
sentence for the same code comes from `shared.messages`. Errors never raise from validators: the
validators return them, so a caller can collect every problem of a row at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one field's value."""

    field: str
    code: str
    message: str
    params: dict[str, Any] = dc_field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationFailed(ValueError):
    """Raised where a caller wants an exception for a list of `FieldError`s."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))
