"""The synced entities, their fields, and each field's merge policy.

This is the one declaration of what a record is, shared by the server's models, the device store,
the importer and the merge. Enumerations carry their Chinese labels, which is what users see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    WORKER = "worker"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    # Unit staff and volunteers (入网单位人员、志愿者) who claim and handle matters (shared/matters.py).
    HANDLER = "handler"


class Relation(StrEnum):
    """A resident's relation to the head of the household they are bound to."""

    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    MEMBER = "member"
    TENANT = "tenant"
    OTHER = "other"


class ResidenceStatus(StrEnum):
    PERMANENT = "permanent"  # 常住
    FLOATING = "floating"  # 流动
    AWAY = "away"  # 外出
    MOVED_OUT = "moved_out"  # 迁出
    DECEASED = "deceased"  # 死亡


class Tag(StrEnum):
    """Special groups a worker looks after."""

    ELDERLY_ALONE = "elderly_alone"  # 独居老人
    DISABLED = "disabled"  # 残疾
    HARDSHIP = "hardship"  # 低保/困难
    LEFT_BEHIND_CHILD = "left_behind_child"  # 留守儿童


class VisitOutcome(StrEnum):
    """What a worker found at the door (走访结果)."""

    MET = "met"  # 已见面
    NOT_HOME = "not_home"  # 不在家
    AWAY = "away"  # 外出
    MOVED_OUT = "moved_out"  # 已搬离
    REFUSED = "refused"  # 拒绝配合
    OTHER = "other"  # 其他


RELATION_ZH: dict[str, str] = {
    "head": "户主",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "member": "家庭成员",
    "tenant": "租户",
    "other": "其他",
}
RESIDENCE_STATUS_ZH: dict[str, str] = {
    "permanent": "常住",
    "floating": "流动",
    "away": "外出",
    "moved_out": "迁出",
    "deceased": "死亡",
}
TAG_ZH: dict[str, str] = {
    "elderly_alone": "独居老人",
    "disabled": "残疾",
    "hardship": "低保/困难",
    "left_behind_child": "留守儿童",
}
VISIT_OUTCOME_ZH: dict[str, str] = {
    "met": "已见面",
    "not_home": "不在家",
    "away": "外出",
    "moved_out": "已搬离",
    "refused": "拒绝配合",
    "other": "其他",
}
ROLE_ZH: dict[str, str] = {
    "worker": "网格员",
    "supervisor": "管理人员",
    "admin": "平台管理员",
    "handler": "承办人员",
}
LEVEL_ZH: dict[int, str] = {
    1: "一级网格",
    2: "二级网格",
    3: "三级网格",
    4: "四级网格",
    5: "五级网格",
}

GRID_LEVELS = (1, 2, 3, 4, 5)
LEAF_LEVEL = 5


def zh_to_enum(label: str, table: dict[str, str]) -> str | None:
    """Map a Chinese label or an English value to the enum value, or None when unknown."""
    label = label.strip()
    if label in table:
        return label
    for value, zh in table.items():
        if label == zh or label in zh.split("/"):
            return value
    return None


class Policy(StrEnum):
    """How concurrent edits to one field are reconciled by `shared.merge`."""

    MANUAL = "manual"  # different values wait for an admin
    LWW = "lww"  # the later hybrid-logical-clock timestamp wins
    UNION = "union"  # set-valued: additions and removals of both sides combine


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "str", "int", "date", "datetime", "tags", "ref", "json" (a list of objects)
    policy: Policy = Policy.MANUAL
    device_writable: bool = True
    # Personal information (DOMAIN.md "Privacy"): the phone stores it sealed (field_app/store/
    # sealed.py), so a copy of the app's files shows none of it.
    personal: bool = False


@dataclass(frozen=True)
class EntitySpec:
    """One synced entity. The three `device_*` flags say which operations a phone may push for
    it (the server refuses the others with `not_device_creatable`, `not_device_updatable`,
    `not_device_deletable`); docs/sync-protocol.md states them, generated from here."""

    name: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    device_creatable: bool = True
    # Records are facts: created once, never updated; devices never delete them either.
    append_only: bool = False
    device_updatable: bool = True
    device_deletable: bool = True
    doc: str = ""  # one line for the protocol document

    def policy(self, field_name: str) -> Policy:
        spec = self.fields.get(field_name)
        return spec.policy if spec else Policy.MANUAL

    def device_may(self, kind: str) -> bool:
        """Whether a phone may push an operation of this kind ("create", "update", "delete")."""
        return {
            "create": self.device_creatable,
            "update": self.device_updatable,
            "delete": self.device_deletable,
        }.get(kind, False)


def _entity(
    name: str,
    *specs: FieldSpec,
    device_creatable: bool = True,
    append_only: bool = False,
    read_only: bool = False,
    device_deletable: bool = True,
    doc: str = "",
) -> EntitySpec:
    """`read_only`: the server's records, which phones only receive; `append_only`: facts a
    phone creates once and never changes or deletes."""
    return EntitySpec(
        name,
        {s.name: s for s in specs},
        device_creatable=device_creatable and not read_only,
        append_only=append_only,
        device_updatable=not (read_only or append_only),
        device_deletable=device_deletable and not (read_only or append_only),
        doc=doc,
    )


M, L, U = Policy.MANUAL, Policy.LWW, Policy.UNION

ENTITIES: dict[str, EntitySpec] = {
    e.name: e
    for e in (
        _entity(
            "grid_node",
            FieldSpec("parent_id", "ref", M, device_writable=False),
            FieldSpec("level", "int", M, device_writable=False),
            FieldSpec("code", "str", M, device_writable=False),
            FieldSpec("name", "str", M, device_writable=False),
            read_only=True,
            doc="a node of the 5-level grid tree; managed by admins on the server",
        ),
        _entity(
            "building",
            FieldSpec("grid_id", "ref", M),
            FieldSpec("road", "str", L),
            FieldSpec("lane", "str", L),
            FieldSpec("number", "str", L),
            FieldSpec("name", "str", L),
            doc="a building (楼栋) in a level-5 grid",
        ),
        _entity(
            "unit",
            FieldSpec("building_id", "ref", M),
            FieldSpec("name", "str", L),
            doc="a unit (单元) of a building",
        ),
        _entity(
            "house",
            FieldSpec("grid_id", "ref", M),
            FieldSpec("building_id", "ref", M),
            FieldSpec("unit_id", "ref", M),
            FieldSpec("room", "str", L),
            FieldSpec("address", "str", L),
            doc="a house or flat (房屋) in a level-5 grid, in a building and optionally a unit",
        ),
        _entity(
            "resident",
            FieldSpec("name", "str", M),
            FieldSpec("id_number", "str", M, personal=True),
            FieldSpec("phone", "str", L, personal=True),
            FieldSpec("residence_status", "str", L),
            FieldSpec("tags", "tags", U, personal=True),
            FieldSpec("note", "str", L, personal=True),
            doc="a person (人); sent to the grids of their open bindings and, for 30 days, of one they moved out of",
        ),
        _entity(
            "binding",
            FieldSpec("resident_id", "ref", M),
            FieldSpec("house_id", "ref", M),
            FieldSpec("relation", "str", L),
            FieldSpec("start_date", "date", M),
            FieldSpec("end_date", "date", M),
            doc="a person living in a house (人房绑定); an ended binding (end_date set) is history",
        ),
        # A door-to-door visit (走访): created on a device, rarely edited. visited_at is an
        # instant (UTC on the wire and in the stores); its date in China time decides "visited
        # today", whatever zone the phone is set to.
        _entity(
            "visit",
            FieldSpec("house_id", "ref", M),
            FieldSpec("resident_id", "ref", M),
            FieldSpec("outcome", "str", L),
            FieldSpec("note", "str", L, personal=True),
            FieldSpec("visited_at", "datetime", M),
            doc="a door-to-door visit (走访) to a house, optionally naming one resident",
        ),
        # Campaigns (shared/campaigns.py, docs/campaigns.md), sent only to clients that ask for
        # them (PullRequest.campaigns). An admin creates a campaign; devices only read it.
        _entity(
            "campaign",
            FieldSpec("name", "str", M, device_writable=False),
            FieldSpec("kind", "str", M, device_writable=False),
            FieldSpec("start_date", "date", M, device_writable=False),
            FieldSpec("end_date", "date", M, device_writable=False),
            FieldSpec("grid_id", "ref", M, device_writable=False),
            FieldSpec("age_min", "int", M, device_writable=False),
            FieldSpec("age_max", "int", M, device_writable=False),
            FieldSpec("residence_statuses", "tags", M, device_writable=False),
            FieldSpec("tags", "tags", M, device_writable=False),
            # A business_inspection campaign's business types (ids; none: every type).
            FieldSpec("business_types", "tags", M, device_writable=False),
            read_only=True,
            doc="a campaign an admin created; sent only to clients that ask for campaigns",
        ),
        # "The platform says this resident completed this campaign": one record per campaign
        # and resident however many completion rows the platform had (the compact form).
        _entity(
            "completion",
            FieldSpec("campaign_id", "ref", M, device_writable=False),
            FieldSpec("resident_id", "ref", M, device_writable=False),
            read_only=True,
            append_only=True,
            doc="the platform says this resident completed this campaign (imported on the server)",
        ),
        # What a worker recorded at a campaign target's door: a fact, never edited, so workers
        # recording on one person never conflict.
        _entity(
            "outcome",
            FieldSpec("campaign_id", "ref", M),
            FieldSpec("resident_id", "ref", M),
            FieldSpec("outcome", "str", M),
            FieldSpec("place", "str", M, personal=True),
            FieldSpec("reason", "str", M, personal=True),
            FieldSpec("revisit_date", "date", M),
            FieldSpec("recorded_at", "datetime", M),
            append_only=True,
            doc="what a worker recorded at a campaign target's door: created once, never changed",
        ),
        # Matters (事项, shared/matters.py, docs/sync-protocol.md "Matters"). Organisations and
        # categories are the server's; phones receive them.
        _entity(
            "org",
            FieldSpec("name", "str", M, device_writable=False),
            FieldSpec("kind", "str", M, device_writable=False),
            FieldSpec("grid_id", "ref", M, device_writable=False),
            read_only=True,
            doc="an organisation in the grid (入网单位) serving a community; its staff are handlers",
        ),
        _entity(
            "matter_category",
            FieldSpec("name", "str", M, device_writable=False),
            FieldSpec("time_limit_hours", "int", M, device_writable=False),
            FieldSpec("base_points", "int", M, device_writable=False),
            FieldSpec("bonus_points", "int", M, device_writable=False),
            FieldSpec("active", "int", M, device_writable=False),
            read_only=True,
            doc="a category of matters with its time limit and points; sent to every device",
        ),
        # A matter's life goes through matter_step records: devices edit only what it says while
        # it is reported (shared.matters.EDITABLE_WHILE_REPORTED); the rest the server keeps.
        _entity(
            "matter",
            FieldSpec("category_id", "ref", M),
            FieldSpec("description", "str", L, personal=True),
            FieldSpec("grid_id", "ref", M),
            FieldSpec("building_id", "ref", M),
            FieldSpec("house_id", "ref", M),
            FieldSpec("resident_id", "ref", M),
            FieldSpec("place", "str", L),
            FieldSpec("source", "str", M),
            FieldSpec("urgency", "str", L),
            FieldSpec("on_behalf_of", "str", M, personal=True),
            FieldSpec("photos", "tags", L),
            FieldSpec("reported_at", "datetime", M),
            FieldSpec("state", "str", M, device_writable=False),
            FieldSpec("assignee_org_id", "ref", M, device_writable=False),
            FieldSpec("assignee_user_id", "ref", M, device_writable=False),
            FieldSpec("state_at", "datetime", M, device_writable=False),
            FieldSpec("state_by", "ref", M, device_writable=False),
            FieldSpec("due_at", "datetime", M, device_writable=False),
            FieldSpec("rating", "int", M, device_writable=False),
            FieldSpec("closed_at", "datetime", M, device_writable=False),
            # What a handler may know of the resident (they never receive resident records).
            FieldSpec("resident_name", "str", M, device_writable=False, personal=True),
            FieldSpec("resident_phone_masked", "str", M, device_writable=False),
            # A business check's failed item (shared/inspection_matters.py): the server opens
            # the matter and links it; its re-inspections are steps.
            FieldSpec("business_id", "ref", M, device_writable=False),
            FieldSpec("checklist_item_id", "ref", M, device_writable=False),
            FieldSpec("business_check_id", "ref", M, device_writable=False),
            device_deletable=False,
            doc="a matter (事项) a worker reported in their grid; its life goes through steps",
        ),
        _entity(
            "matter_step",
            FieldSpec("matter_id", "ref", M),
            FieldSpec("action", "str", M),
            FieldSpec("from_state", "str", M),
            FieldSpec("reason", "str", M, personal=True),
            FieldSpec("org_id", "ref", M),
            FieldSpec("user_id", "ref", M),
            FieldSpec("photos", "tags", M),
            FieldSpec("rating", "int", M),
            FieldSpec("comment", "str", M, personal=True),
            FieldSpec("at", "datetime", M),
            append_only=True,
            doc="a step in a matter's life (accept, dispatch, claim, close, rate...): created once",
        ),
        # Businesses and the checklist sweep (shared/businesses.py, docs/business-inspections.md),
        # sent only to clients that ask for them (PullRequest.businesses). Types and checklist
        # items are the admins'; phones receive them.
        _entity(
            "business_type",
            FieldSpec("code", "str", M, device_writable=False),
            FieldSpec("name", "str", M, device_writable=False),
            FieldSpec("name_en", "str", M, device_writable=False),
            FieldSpec("sort_order", "int", M, device_writable=False),
            FieldSpec("active", "int", M, device_writable=False),
            read_only=True,
            doc="a type of business (餐饮, 住宿, 商超 ...), managed by admins; sent to every device",
        ),
        _entity(
            "checklist_item",
            FieldSpec("business_type_id", "ref", M, device_writable=False),
            FieldSpec("code", "str", M, device_writable=False),
            FieldSpec("text", "str", M, device_writable=False),
            FieldSpec("text_en", "str", M, device_writable=False),
            FieldSpec("sort_order", "int", M, device_writable=False),
            FieldSpec("active", "int", M, device_writable=False),
            read_only=True,
            doc="an item of a business type's inspection checklist, managed by admins",
        ),
        _entity(
            "business",
            FieldSpec("grid_id", "ref", M),
            FieldSpec("building_id", "ref", M),
            FieldSpec("business_type_id", "ref", L),
            FieldSpec("name", "str", L),
            FieldSpec("licence_number", "str", L),
            FieldSpec("contact_name", "str", L, personal=True),
            FieldSpec("contact_phone", "str", L, personal=True),
            FieldSpec("address", "str", L),
            FieldSpec("status", "str", L),
            device_deletable=False,
            doc="a business (商户) in a level-5 grid, at a building or an address; struck off "
            "(status closed), never deleted from a device",
        ),
        # One visit's answers to a business's checklist in a business_inspection campaign: a
        # fact, never edited; a re-inspection is a step of the matter a failure became.
        _entity(
            "business_check",
            FieldSpec("campaign_id", "ref", M),
            FieldSpec("business_id", "ref", M),
            FieldSpec("results", "json", M),
            FieldSpec("checked_at", "datetime", M),
            append_only=True,
            doc="a business's checklist answered at its door (pass / fail / not applicable "
            "per item): created once",
        ),
        # Members' posts (岗位, shared/members.py): a community publishes them on the server;
        # `claimed` is the server's count of their claims. A member claims one from the phone,
        # offline too; the server decides it (shared.members.decide_claim).
        _entity(
            "post",
            FieldSpec("community_id", "ref", M, device_writable=False),
            FieldSpec("kind", "str", M, device_writable=False),
            FieldSpec("title", "str", M, device_writable=False),
            FieldSpec("duties", "str", M, device_writable=False),
            FieldSpec("capacity", "int", M, device_writable=False),
            FieldSpec("claimed", "int", M, device_writable=False),
            FieldSpec("active", "int", M, device_writable=False),
            read_only=True,
            doc="a post (岗位) a community publishes, with its duties and capacity; sent to its members",
        ),
        _entity(
            "post_claim",
            FieldSpec("post_id", "ref", M),
            FieldSpec("user_id", "ref", M),
            FieldSpec("at", "datetime", M),
            append_only=True,
            doc="a member's claim of a post: created once, accepted while the post has room",
        ),
    )
}
