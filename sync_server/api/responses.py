"""What each API operation can answer besides success, for the OpenAPI document: one catalogue.

Every error is an RFC 9457 problem (`application/problem+json`, `shared.protocol.Problem`) with
a stable `code`. Routes name the statuses they can give (`problems(...)`); the ones every request
of a kind can meet (a body: 400, 413, 422; a sign-in: 401, 403; a sync path: 426) are grouped
here, so a route's list is short and the document stays true as routes are added.
"""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}

DESCRIPTIONS: dict[int, str] = {
    400: "The body is not valid gzip (`bad_encoding`), the app's protocol is newer than the "
    "server's (`protocol_unsupported`), or a pull cursor was changed, truncated or is another "
    "device's (`bad_cursor`).",
    401: "Not signed in, or the sign-in ended: `not_authenticated`, `token_expired`, "
    "`account_inactive`; at sign-in `invalid_credentials`.",
    403: "Signed in but not allowed: `device_revoked`, `device_mismatch`, `device_owner`, "
    "`device_required`, `out_of_scope`, `admin_only`, `account_inactive`.",
    404: "No such record, or none the caller may see (`not_found`, `no_such_campaign`); a "
    "grid named in the request that does not exist (`unknown_grid`).",
    409: "The request meets the server's state: `already_settled`, `resync_required` (pull "
    "from the start again, keeping the outbox), `offset_mismatch` (a photo chunk not at the "
    "server's offset: HEAD and resume), `upload_length_mismatch`.",
    413: "The body, the file or the batch is larger than the server takes (`too_large`); a "
    "photo over the size limit (`photo_too_large`) or a device's photos over its quota "
    "(`photo_quota_exceeded`), the limit named in `errors`.",
    422: "A field is missing or wrong (`invalid_request`, each field in `errors`), or a value "
    "breaks a rule (`invalid_value`, `self_deactivate`, ...); a photo whose bytes do not have "
    "its sha256 (`hash_mismatch`) or are no picture (`not_a_photo`): the upload is discarded.",
    426: "The app's sync protocol is older than the server's (`protocol_outdated`): update it.",
    429: "Too many failed sign-ins (`too_many_attempts`); `Retry-After` says when to try again.",
    503: "The database cannot be reached (`unavailable`).",
}

BODY = (400, 413, 422)  # the transport's gzip and size checks, then validation
SIGNED_IN = (401, 403)
SYNC = (*BODY, *SIGNED_IN, 426)


def problems(*statuses: int | tuple[int, ...]) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route (or router) that can answer these statuses."""
    flat: set[int] = set()
    for status in statuses:
        flat.update(status if isinstance(status, tuple) else (status,))
    return {
        status: {
            "description": DESCRIPTIONS[status],
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
        for status in sorted(flat)
    }
