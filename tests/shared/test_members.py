"""`shared.members.decide_claim`: the one decision whether a member may claim a post, which the
server and the phone both run."""

from __future__ import annotations

import pytest

from shared.members import (
    COMMUNITY_CLASS_ZH,
    PARTY_STATUS_ALIASES,
    PARTY_STATUS_ZH,
    POST_KIND_EN,
    POST_KIND_ZH,
    ClaimRefused,
    decide_claim,
    label_to_value,
    unit_type,
)

POST = {"community_id": "c1", "capacity": 2, "active": 1}


def test_a_member_of_the_community_claims_while_there_is_room() -> None:
    assert (
        decide_claim(
            POST, claimant_id="u1", claimant_communities=frozenset({"c1"}), live_claimants={}
        )
        == 1
    )
    after = decide_claim(
        POST, claimant_id="u2", claimant_communities=frozenset({"c1"}), live_claimants={"k1": "u1"}
    )
    assert after == 2


@pytest.mark.parametrize(
    ("post", "claimant", "communities", "claims", "code"),
    [
        (POST, "u3", {"c1"}, {"k1": "u1", "k2": "u2"}, "post_full"),
        (POST, "u1", {"c1"}, {"k1": "u1"}, "already_claimed"),
        (POST, "u1", {"c2"}, {}, "out_of_scope"),
        (None, "u1", {"c1"}, {}, "post_closed"),
        ({**POST, "active": 0}, "u1", {"c1"}, {}, "post_closed"),
        ({**POST, "capacity": 0}, "u1", {"c1"}, {}, "post_full"),
    ],
)
def test_a_claim_is_refused_with_a_stable_code(
    post: dict[str, object] | None,
    claimant: str,
    communities: set[str],
    claims: dict[str, str],
    code: str,
) -> None:
    with pytest.raises(ClaimRefused) as refused:
        decide_claim(
            post,
            claimant_id=claimant,
            claimant_communities=frozenset(communities),
            live_claimants=claims,
        )
    assert refused.value.code == code


def test_the_words_users_read() -> None:
    assert list(POST_KIND_ZH.values()) == [
        "居民自治",
        "教育培训",
        "助老扶幼",
        "环境提升",
        "爱心关怀",
        "便民利民",
        "精准暖心",
    ]
    assert set(POST_KIND_EN) == set(POST_KIND_ZH)
    assert list(COMMUNITY_CLASS_ZH.values()) == [
        "商住社区",
        "单位家属院社区",
        "老旧小区",
        "商圈社区",
    ]
    assert label_to_value("预备党员", PARTY_STATUS_ZH, PARTY_STATUS_ALIASES) == "probationary"
    assert label_to_value("老旧小区", COMMUNITY_CLASS_ZH) == "old_estate"
    assert label_to_value("别的", COMMUNITY_CLASS_ZH) is None
    assert (unit_type("employer"), unit_type("police")) == ("employer", "grid_unit")
