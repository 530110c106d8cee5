"""Deterministic ids for imported grid nodes and places, derived from their natural keys.

The same file imported into two empty databases gives the same ids, so exports, device stores and
support conversations can refer to a house across installations. Residents deliberately do not get
one: a UUID derived from an ID number is an unsalted hash of it, and the space of ID numbers is
small enough to search, so a resident's id would leak the ID number it came from.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would give every re-imported record a new id.
NAMESPACE = uuid.UUID("cbfc4802-0605-4203-8964-223cb3eff85e")


def stable_id(kind: str, *parts: str) -> str:
    """uuid5 over the entity kind and its natural key parts."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join((kind, *parts))))
