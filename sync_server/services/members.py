"""Members and communities as admins manage them on the server: a community's class.

Members themselves arrive by import (importer/members.py, services/imports.py); the caller's
transaction commits.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shared.members import COMMUNITY_CLASS_ZH, CommunityClass, label_to_value
from sync_server.errors import Invalid
from sync_server.models import GridNode
from sync_server.services.matter_sync import COMMUNITY_LEVEL


def set_community_class(*, session: Session, community: GridNode, label: str) -> str:
    """Give a community (a level-4 node) its class, from its value or Chinese label."""
    if community.level != COMMUNITY_LEVEL:
        raise Invalid("only a community (a level-4 grid node) has a class", field="grid")
    value = label_to_value(label, COMMUNITY_CLASS_ZH)
    if value is None:
        choices = ", ".join(f"{v} ({COMMUNITY_CLASS_ZH[v]})" for v in CommunityClass)
        raise Invalid(f"class must be one of {choices}; got {label!r}", field="class")
    community.community_class = value
    session.flush()
    return value
