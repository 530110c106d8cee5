"""Posts (岗位) on a member's phone: their community's posts with the places left, and claiming
one, offline too. The phone refuses a claim the server would refuse on what it holds (the same
`shared.members.decide_claim`); a claim the server refused later (somebody took the last place
first) shows its reason on the post, which the member may then claim again if room is left.
"""

from __future__ import annotations

from field_app.i18n.messages import Msg
from field_app.state.base import Context, Screen
from field_app.store import ValidationFailed
from field_app.store.posts import PostItem


class PostsScreen(Screen):
    """The community's posts, in the seven kinds' order."""

    kind = "posts"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.items: list[PostItem] = []
        self.refresh()

    @property
    def title(self) -> Msg:
        return Msg("screen.posts")

    def refresh(self) -> None:
        self.items = self.ctx.store.posts()

    def refusal(self, item: PostItem) -> tuple[str | None, str | None, str | None]:
        """The server's (code, field, reason) for the member's refused claim of `item`."""
        last = item.refusal
        return (last.code, last.field, last.reason) if last else (None, None, None)

    def claim(self, post_id: str) -> None:
        try:
            self.ctx.store.claim_post(post_id, user_id=self.ctx.user_id)
        except ValidationFailed as exc:
            error = exc.errors[0]
            self.ctx.flash(Msg(f"posts.refusal.{error.code}"), error=True)
            self.refresh()
            self.ctx.changed()
            return
        self.refresh()
        self.ctx.flash(Msg("flash.post_claimed"))
        self.ctx.request_sync()
        self.ctx.changed()
