"""The store's exceptions; invalid input raises `shared.errors.ValidationFailed` instead.

StoreError
└── RecordNotFound    no live record with that id on this device
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of the device store's own errors."""


class RecordNotFound(StoreError, LookupError):
    """The record does not exist on this device, or it was deleted."""

    def __init__(self, entity: str, record_id: str) -> None:
        self.entity = entity
        self.record_id = record_id
        super().__init__(f"There is no {entity} with id {record_id} on this device.")
