"""Members who serve where they live (在职党员到居住地社区报到): the words and the rules.

Pure: the community classes (社区类别), the kinds of units in the one unit registry (入网单位 and
the employers, 机关企事业单位), party membership, the seven kinds of posts (岗位) and
`decide_claim`, the one decision whether a member may claim a post, which the server runs over
what it loaded (the post, its live claims) and the phone runs offline to show the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.matters import OrgKind


class CommunityClass(StrEnum):
    """A community's class (社区类别): each has its own volunteer system."""

    MIXED = "mixed"  # 商住社区
    COMPOUND = "compound"  # 单位家属院社区
    OLD_ESTATE = "old_estate"  # 老旧小区
    BUSINESS = "business"  # 商圈社区


COMMUNITY_CLASS_ZH: dict[str, str] = {
    "mixed": "商住社区",
    "compound": "单位家属院社区",
    "old_estate": "老旧小区",
    "business": "商圈社区",
}
COMMUNITY_CLASS_EN: dict[str, str] = {
    "mixed": "Mixed residential and commercial",
    "compound": "Work-unit family compound",
    "old_estate": "Old housing estate",
    "business": "Business district",
}

# The one unit registry is the organisations (`org`): the 入网单位 that matters are dispatched
# to, of the kinds of shared.matters.OrgKind, and the employers (机关企事业单位, kind
# `employer`) whose staff register as members where they live. An employer serves no community
# of its own, so nothing is dispatched to it.
UNIT_TYPE_ZH: dict[str, str] = {"grid_unit": "入网单位", "employer": "机关企事业单位"}
UNIT_TYPE_EN: dict[str, str] = {"grid_unit": "Unit in the grid", "employer": "Employer"}


def unit_type(org_kind: str) -> str:
    """`employer` for an employer, `grid_unit` (入网单位) for every other kind of unit."""
    return "employer" if org_kind == OrgKind.EMPLOYER else "grid_unit"


class PartyStatus(StrEnum):
    """Party membership (政治面貌) as a member record keeps it."""

    MEMBER = "member"  # 中共党员
    PROBATIONARY = "probationary"  # 中共预备党员
    NONE = "none"  # 群众 (volunteers who are not party members)


PARTY_STATUS_ZH: dict[str, str] = {
    "member": "中共党员",
    "probationary": "中共预备党员",
    "none": "群众",
}
PARTY_STATUS_EN: dict[str, str] = {
    "member": "Party member",
    "probationary": "Probationary party member",
    "none": "Not a party member",
}
# Labels offices write for the same thing.
PARTY_STATUS_ALIASES: dict[str, str] = {
    "党员": "member",
    "共产党员": "member",
    "中共党员": "member",
    "预备党员": "probationary",
    "中共预备党员": "probationary",
    "群众": "none",
    "非党员": "none",
}


class PostKind(StrEnum):
    """The seven kinds of posts (岗位) a community publishes."""

    SELF_GOVERNANCE = "self_governance"  # 居民自治
    EDUCATION = "education"  # 教育培训
    ELDERLY_CHILDREN = "elderly_children"  # 助老扶幼
    ENVIRONMENT = "environment"  # 环境提升
    CARE = "care"  # 爱心关怀
    CONVENIENCE = "convenience"  # 便民利民
    TARGETED_CARE = "targeted_care"  # 精准暖心


POST_KIND_ZH: dict[str, str] = {
    "self_governance": "居民自治",
    "education": "教育培训",
    "elderly_children": "助老扶幼",
    "environment": "环境提升",
    "care": "爱心关怀",
    "convenience": "便民利民",
    "targeted_care": "精准暖心",
}
POST_KIND_EN: dict[str, str] = {
    "self_governance": "Residents' self-governance",
    "education": "Education and training",
    "elderly_children": "Helping the old and the young",
    "environment": "Better surroundings",
    "care": "Caring",
    "convenience": "Everyday services",
    "targeted_care": "Targeted warmth",
}


def label_to_value(
    label: str, table: Mapping[str, str], aliases: Mapping[str, str] = {}
) -> str | None:
    """A Chinese label, an alias or an English value -> the value; None when unknown."""
    label = label.strip()
    if label in table:
        return label
    if label in aliases:
        return aliases[label]
    return next((value for value, zh in table.items() if zh == label), None)


@dataclass(frozen=True)
class ClaimRefused(Exception):
    """Why a claim cannot be made: a stable code and an English sentence (Chinese:
    shared.messages)."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def decide_claim(
    post: Mapping[str, Any] | None,
    *,
    claimant_id: str,
    claimant_communities: frozenset[str],
    live_claimants: Mapping[str, str],
) -> int:
    """The post's claimed count after `claimant_id` claims it, or `ClaimRefused`.

    `post`: the post's values (community_id, capacity, active), None if it does not exist or
    was withdrawn; `claimant_communities`: the communities the member serves (registered with);
    `live_claimants`: claim id -> member id of the post's claims the server holds. A member
    claims a post of their own community, once, while it is open and has room."""
    if post is None or not post.get("active", 1):
        raise ClaimRefused("post_closed", "this post is no longer open for claims")
    if post.get("community_id") not in claimant_communities:
        raise ClaimRefused("out_of_scope", "this post belongs to another community")
    if claimant_id in live_claimants.values():
        raise ClaimRefused("already_claimed", "you have already claimed this post")
    capacity = int(post.get("capacity") or 0)
    taken = len(live_claimants)
    if taken >= capacity:
        raise ClaimRefused(
            "post_full", f"this post is full: all {capacity} places have been claimed"
        )
    return taken + 1
