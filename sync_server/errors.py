"""Domain errors raised by services, and their stable problem codes.

Services raise these; one handler in `sync_server.api.problems` turns each into an RFC 9457
problem response whose HTTP status follows from the error class. The tree:

    DomainError
    ├── BadCursor             400 bad_cursor (a pull cursor this server did not sign)
    ├── ResyncRequired        409 resync_required (an unsigned cursor from an older server)
    ├── NotAuthenticated      401 not_authenticated / invalid_credentials / token_expired
    ├── Forbidden             403 forbidden / out_of_scope
    ├── NotFound              404 not_found
    ├── Conflict              409 conflict / offset_mismatch / upload_length_mismatch
    ├── TooLarge              413 too_large (more operations than one push may carry) /
    │                             photo_too_large / photo_quota_exceeded (carry `limit`)
    ├── Invalid               422 invalid (carries field errors) / hash_mismatch / not_a_photo
    ├── TooManyAttempts       429 too_many_attempts (carries retry_after, in seconds)
    └── ProtocolMismatch      426 protocol_outdated (or 400 protocol_unsupported, see `status`)
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.extra = extra


class BadCursor(DomainError):
    status = 400
    default_code = "bad_cursor"


class ResyncRequired(DomainError):
    """The pull cursor is from before cursors were signed: the device downloads its scope again
    from a null cursor, keeping its outbox (docs/sync-protocol.md, "The cursor")."""

    status = 409
    default_code = "resync_required"


class NotAuthenticated(DomainError):
    status = 401
    default_code = "not_authenticated"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class TooLarge(DomainError):
    status = 413
    default_code = "too_large"


class Invalid(DomainError):
    status = 422
    default_code = "invalid"


class TooManyAttempts(DomainError):
    status = 429
    default_code = "too_many_attempts"


class ProtocolMismatch(DomainError):
    """A body naming a protocol version the server does not speak (the header is checked by
    `api.transport`; this catches a body that disagrees with it)."""

    status = 426
    default_code = "protocol_outdated"

    def __init__(self, detail: str, *, status: int = 426, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.status = status  # type: ignore[misc]
