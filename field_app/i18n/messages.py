"""A message a view-model wants shown, before it is put into the worker's language.

View-models return `Msg` (a catalogue key and its parameters), never finished sentences, so the
language can be switched at any moment and every screen follows on its next render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Msg:
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, key: str, **params: Any) -> Msg:
        return cls(key, params)
