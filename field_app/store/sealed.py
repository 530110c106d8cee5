"""Column encryption of personal values, and the keyed search keys that stand in for them.

Every value of a field `shared.schema` marks `personal` (a resident's ID number, phone, tags and
note; a visit's note; an outcome's reason and place) is stored sealed, wherever the store keeps
it: in the record's view row, in its server shadow, in the outbox's operations and conflict
details, and in the notices kept in `meta`. Sealing is AES-256-GCM (`cryptography`, which Flet's
Android index serves) of the value's JSON, with a random 96-bit nonce and the place it belongs to
(entity, field, record id) as associated data, so a sealed value copied onto another record or
field does not open. A sealed value is text, `gs1:` + base64 of nonce + ciphertext + tag, so it
sits in a column or inside JSON alike.

Search by ID number ending and phone digits cannot look inside sealed values, so each resident's
row carries `search_keys`: keyed hashes (HMAC-SHA256 under a key of their own, cut to 48 bits) of
the ID number's endings (4 to 18 characters) and of the phone's leading and trailing digits (3 or
more). A search hashes what was typed the same way and looks for it (`search.py`). Without the
key the hashes say nothing about the numbers; with 4,500 residents a 48-bit hash makes a false
hit about one in a billion.

Both keys are derived (HKDF-SHA256) from the store's one 256-bit key, which SQLCipher also uses
as is for page encryption where it exists (`modes.py`), so one `KeyHolder` holds everything.

`StoreDb` is sqlite-utils' `Database` with the `Sealer` of its store: the store's modules take
it and seal or open values as they write or read them, so no other layer sees a sealed value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlite_utils import Database

from field_app.store.errors import StoreError
from shared.schema import ENTITIES

# entity -> its personal fields (shared/schema.py marks them).
PERSONAL: dict[str, frozenset[str]] = {
    name: frozenset(f for f, spec in entity.fields.items() if spec.personal)
    for name, entity in ENTITIES.items()
    if any(spec.personal for spec in entity.fields.values())
}
SEARCH_KEYS = "search_keys"  # the resident column of keyed hashes (migration m005)
PREFIX = "gs1:"
_NONCE = 12
_HASH_BYTES = 6  # 48 bits: see the module docstring
_ID_TAIL_MIN = 4
_PHONE_MIN = 3
_NOT_DIGIT = re.compile(r"[^0-9]")


class SealBroken(StoreError):
    """A sealed value does not open: another key, or a value moved or altered on disk."""


class Sealer:
    """Seals and opens the personal values of one store, and makes its search keys."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(_derive(key, b"gridsweep/columns/v1"))
        self._search = _derive(key, b"gridsweep/search/v1")
        self._check = _derive(key, b"gridsweep/key-check/v1")

    # --- single values -------------------------------------------------------------------------

    def seal(self, entity: str, record_id: str, name: str, value: Any) -> str | None:
        """The sealed form of `value` (None stays None: an empty field stays empty)."""
        if value is None:
            return None
        nonce = os.urandom(_NONCE)
        data = json.dumps(value, ensure_ascii=False).encode()
        sealed = self._aead.encrypt(nonce, data, _place(entity, record_id, name))
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, entity: str, record_id: str, name: str, token: Any) -> Any:
        """The value sealed in `token` for that place; raises `SealBroken` when it is not."""
        if token is None:
            return None
        if not isinstance(token, str) or not token.startswith(PREFIX):
            raise SealBroken(f"{entity}.{name} of {record_id} is stored unsealed.")
        raw = base64.b64decode(token[len(PREFIX) :])
        try:
            data = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _place(entity, record_id, name))
        except InvalidTag as exc:
            raise SealBroken(f"{entity}.{name} of {record_id} does not open.") from exc
        return json.loads(data)

    def seal_bytes(self, entity: str, record_id: str, name: str, data: bytes) -> bytes:
        """`data` sealed for that place, as bytes (nonce + ciphertext + tag): for a photo, whose
        JSON-and-base64 form would weigh a third more."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, data, _place(entity, record_id, name))

    def open_bytes(self, entity: str, record_id: str, name: str, sealed: bytes) -> bytes:
        """The bytes sealed in `sealed` for that place; raises `SealBroken` when they are not."""
        try:
            return self._aead.decrypt(
                sealed[:_NONCE], sealed[_NONCE:], _place(entity, record_id, name)
            )
        except InvalidTag as exc:
            raise SealBroken(f"{entity}.{name} of {record_id} does not open.") from exc

    # --- a record's values, an operation's changes ---------------------------------------------

    def seal_values(self, entity: str, record_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` with the personal ones sealed."""
        personal = PERSONAL.get(entity, frozenset())
        return {
            n: self.seal(entity, record_id, n, v) if n in personal else v for n, v in values.items()
        }

    def open_values(self, entity: str, record_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        personal = PERSONAL.get(entity, frozenset())
        return {
            n: self.open(entity, record_id, n, v) if n in personal else v for n, v in values.items()
        }

    def seal_parts(
        self, entity: str, record_id: str, name: str, parts: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A JSON object about one field (an operation's {base, new}, a conflict's {base, server,
        device}) with every value in it sealed when the field is personal."""
        if name not in PERSONAL.get(entity, frozenset()):
            return dict(parts)
        return {k: self.seal(entity, record_id, name, v) for k, v in parts.items()}

    def open_parts(
        self, entity: str, record_id: str, name: str, parts: Mapping[str, Any]
    ) -> dict[str, Any]:
        if name not in PERSONAL.get(entity, frozenset()):
            return dict(parts)
        return {k: self.open(entity, record_id, name, v) for k, v in parts.items()}

    # --- search keys ---------------------------------------------------------------------------

    def search_keys(self, values: Mapping[str, Any]) -> str:
        """The keyed hashes of a resident's ID number endings and phone digits, space-separated
        and space-framed, so a search looks for " <hash> " in it."""
        hashes_: list[str] = []
        id_number = str(values.get("id_number") or "").upper()
        for size in range(_ID_TAIL_MIN, len(id_number) + 1):
            hashes_.append(self._hash("id", id_number[-size:]))
        digits = _NOT_DIGIT.sub("", str(values.get("phone") or ""))
        parts = {digits[:size] for size in range(_PHONE_MIN, len(digits) + 1)}
        parts |= {digits[-size:] for size in range(_PHONE_MIN, len(digits) + 1)}
        hashes_ += (self._hash("phone", p) for p in sorted(parts))
        return f" {' '.join(dict.fromkeys(hashes_))} " if hashes_ else ""

    def id_tail_key(self, text: str) -> str | None:
        """The search key for an ID number ending typed in a search, or None if too short."""
        text = text.upper()
        return f" {self._hash('id', text)} " if len(text) >= _ID_TAIL_MIN else None

    def phone_key(self, text: str) -> str | None:
        """The search key for the first or last digits of a phone number, or None if too short."""
        return f" {self._hash('phone', text)} " if len(text) >= _PHONE_MIN else None

    def key_check(self) -> str:
        """A value that tells whether a store's columns were sealed with this key (`_store_key`)."""
        return hmac.new(self._check, b"store key check", hashlib.sha256).hexdigest()

    def _hash(self, kind: str, text: str) -> str:
        digest = hmac.new(self._search, f"{kind}:{text}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:_HASH_BYTES]).decode("ascii")


class StoreDb(Database):
    """A store's database connection, with the `Sealer` of its personal values."""

    def __init__(self, conn: Any, sealer: Sealer) -> None:
        super().__init__(conn)
        self.sealer = sealer


def sealer_of(db: Database) -> Sealer:
    """The sealer of a store's database (migrations receive it as a plain `Database`)."""
    if not isinstance(db, StoreDb):
        raise TypeError("The store's database must be opened by field_app.store.db.open_db.")
    return db.sealer


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def _place(entity: str, record_id: str, name: str) -> bytes:
    return f"{entity}\x1f{name}\x1f{record_id}".encode()
