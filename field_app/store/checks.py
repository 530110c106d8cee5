"""Checking what the worker typed before anything is written: the shared rules, raised at once.

The rules themselves live in `shared.records`, so the phone and the server judge a value alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from shared.errors import ValidationFailed
from shared.records import check_references
from shared.records import check_values as _check_values
from shared.schema import EntitySpec

__all__ = ["check_references", "check_values"]


def check_values(
    spec: EntitySpec, values: Mapping[str, Any], *, creating: bool, today: date
) -> dict[str, Any]:
    """The normalised values, or `ValidationFailed` listing every field that is wrong."""
    normalised, errors = _check_values(spec.name, values, creating=creating, today=today)
    if errors:
        raise ValidationFailed(errors)
    return normalised
