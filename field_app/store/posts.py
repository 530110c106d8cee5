"""Members' posts (岗位) as the member sees them: their community's posts, each with the places
left and the member's own claim (waiting to sync, accepted, or refused by the server), and the
claim itself, decided on the phone with the server's `shared.members.decide_claim`.

These functions only read; the caller holds the transaction, if any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from field_app.store import outbox
from field_app.store.outbox import OutboxProblem
from field_app.store.records import Record, from_row, select_sql
from field_app.store.sealed import StoreDb
from shared.members import POST_KIND_ZH

ClaimState = Literal["none", "pending", "claimed", "refused"]


@dataclass(frozen=True)
class PostItem:
    """One post: the record, places claimed as shown, and the member's own claim."""

    record: Record
    claimed: int  # the server's count, plus this member's claim while it waits to sync
    claim: ClaimState
    claim_id: str | None = None
    refusal: OutboxProblem | None = None  # the server's answer to a refused claim

    @property
    def capacity(self) -> int:
        return int(self.record.values.get("capacity") or 0)

    @property
    def full(self) -> bool:
        return self.claimed >= self.capacity

    @property
    def can_claim(self) -> bool:
        return self.claim in ("none", "refused") and not self.full and self.open

    @property
    def open(self) -> bool:
        return self.record.values.get("active") in (1, None)


def claims_of(db: StoreDb, user_id: str) -> dict[str, Record]:
    """The member's claims by post (the latest made, where one was refused and made again)."""
    rows = db.query(
        select_sql("post_claim", "t.deleted = 0 AND t.user_id = ?", order_by="t.at"), [user_id]
    )
    return {
        str(r.values["post_id"]): r for r in (from_row("post_claim", x, db.sealer) for x in rows)
    }


def posts(db: StoreDb, user_id: str) -> list[PostItem]:
    """The community's live posts, by kind (in the seven kinds' order), then title."""
    order = {kind: n for n, kind in enumerate(POST_KIND_ZH)}
    mine = claims_of(db, user_id)
    # A claim the server refused is no record of the phone's any more, only its answer.
    refused = {
        str(p.op.fields["post_id"].new): p
        for p in outbox.problems(db)
        if p.op.entity == "post_claim" and "post_id" in p.op.fields
    }
    found = [from_row("post", r, db.sealer) for r in db.query(select_sql("post", "t.deleted = 0"))]
    found.sort(key=lambda p: (order.get(str(p.values.get("kind")), 99), str(p.values["title"])))
    items = []
    for post in found:
        claim = mine.get(post.id)
        claimed = int(post.values.get("claimed") or 0)
        state: ClaimState = "none"
        if claim is not None:
            state = {"synced": "claimed", "pending": "pending"}.get(claim.sync_state, "refused")  # type: ignore[assignment]
            if state == "pending":
                claimed += 1  # the server's count does not hold it yet
        refusal = refused.get(post.id) if state in ("none", "refused") else None
        if refusal is not None:
            state = "refused"
        claim_id = claim.id if claim is not None else None
        items.append(PostItem(post, claimed, state, claim_id, refusal))
    return items
