"""Code both sides of GridSweep share: the sync protocol, entity schema, validation and merge.

This package is pure: it imports only the standard library and pydantic, so the field app and the
sync server can never disagree about what a valid record or a correct merge is.
"""
