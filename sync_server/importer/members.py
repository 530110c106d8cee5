"""Importing members (党员报到名单) from a spreadsheet, with the usual row-level report.

One sheet, one member a row: name, mobile phone (their sign-in name), employer unit, party
membership, the community they registered with (its level-4 grid code) and the date. A bad row
is reported with its sheet, row, column and reason and skipped; every good row loads. A member
is matched by phone, so importing the list again updates what changed and adds nothing. An
employer the registry does not have yet is added to it (kind `employer`, 机关企事业单位).

Each new member gets a handler account (username: their phone) serving their community, with
the one initial password the admin chose for this import (its hash computed once).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.clock import china_date
from shared.errors import FieldError
from shared.matters import OrgKind
from shared.members import PARTY_STATUS_ALIASES, PARTY_STATUS_ZH, label_to_value
from shared.schema import Role
from shared.validation import normalize_mobile
from sync_server.importer import cells
from sync_server.importer.layout import Column, SheetLayout
from sync_server.importer.reader import open_sheets
from sync_server.importer.report import ImportReport, Where
from sync_server.models import GridNode, Member, Org, User
from sync_server.services.matter_sync import COMMUNITY_LEVEL
from sync_server.services.matters import create_org
from sync_server.services.users import assign_grids, create_user

MEMBERS = SheetLayout(
    kind="members",
    zh="党员报到",
    csv_suffix="党员报到",
    names=("党员报到", "报到党员", "党员", "在职党员", "members"),
    columns=(
        Column("name", "姓名", "是", "文本，最多100个字符", "王建国", "", header_required=True),
        Column(
            "phone",
            "手机号",
            "是",
            "11位手机号",
            "13912345678",
            "也是登录用户名；重复导入时按手机号匹配",
            ("手机号码", "联系电话", "电话"),
            header_required=True,
        ),
        Column(
            "employer",
            "工作单位",
            "是",
            "文本，最多200个字符",
            "县财政局",
            "系统中没有的单位按机关企事业单位新增",
            ("单位", "所在单位", "单位名称"),
            header_required=True,
        ),
        Column(
            "party_status",
            "政治面貌",
            "否",
            "中共党员、中共预备党员或群众",
            "中共党员",
            "不填按中共党员",
            ("党员身份",),
        ),
        Column(
            "community_code",
            "报到社区编码",
            "是",
            "社区（四级网格）的编码",
            "HT-01-03-02",
            "到居住地社区报到的社区",
            ("社区编码", "报到社区"),
            header_required=True,
        ),
        Column(
            "registered_on",
            "报到日期",
            "否",
            "日期，如2026-03-01",
            "2026-03-01",
            "不填按导入当天",
            ("报到时间",),
        ),
    ),
)


@dataclass(frozen=True)
class MemberRow:
    name: str
    phone: str
    employer: str
    party_status: str
    community_code: str
    registered_on: date


def parse_member_row(values: dict[str, object], *, today: date) -> MemberRow | list[FieldError]:
    """One row's clean values, or every error in it."""
    errors: list[FieldError] = []
    texts = {key: cells.text(values.get(key)) for key in ("name", "employer", "community_code")}
    for key, limit in (("name", 100), ("employer", 200), ("community_code", 64)):
        if not texts[key]:
            errors.append(FieldError(key, "required", f"{key} is required"))
        elif (long := cells.too_long(key, texts[key], limit)) is not None:
            errors.append(long)
    phone = normalize_mobile(cells.text(values.get("phone")), field="phone")
    if isinstance(phone, FieldError):
        errors.append(phone)
    party_text = cells.text(values.get("party_status"))
    party = (
        label_to_value(party_text, PARTY_STATUS_ZH, PARTY_STATUS_ALIASES)
        if party_text
        else "member"
    )
    if party is None:
        errors.append(
            FieldError(
                "party_status",
                "choice",
                f"party_status {party_text!r} is not one of {', '.join(PARTY_STATUS_ZH)}",
                {"value": party_text, "choices": "、".join(PARTY_STATUS_ZH.values())},
            )
        )
    registered = cells.parse_date("registered_on", values.get("registered_on"), today=today)
    if isinstance(registered, FieldError):
        errors.append(registered)
    if errors or isinstance(phone, FieldError) or party is None:
        return errors
    return MemberRow(
        name=texts["name"],
        phone=phone,
        employer=texts["employer"],
        party_status=party,
        community_code=texts["community_code"],
        registered_on=registered if isinstance(registered, date) else today,
    )


def import_members(
    *, session: Session, paths: list[Path], password_hash: str, now: datetime
) -> ImportReport:
    """Load members from .xlsx/.csv files; never commits. `password_hash`: the initial
    password of the accounts it creates."""
    report = ImportReport(
        counts={
            "members": {"created": 0, "updated": 0, "unchanged": 0},
            "orgs": {"created": 0, "updated": 0, "unchanged": 0},
        }
    )
    today = china_date(now)
    seen: dict[str, Where] = {}
    communities: dict[str, GridNode | None] = {}
    units: dict[str, Org] = {}
    with ExitStack() as stack:
        for sheet in open_sheets(paths, stack, report, layouts=(MEMBERS,)):
            for data in sheet.rows():
                report.rows_read += 1
                parsed = parse_member_row(data.values, today=today)
                if isinstance(parsed, list):
                    for error in parsed:
                        report.add(data.where, error)
                    continue
                if parsed.phone in seen:
                    first = seen[parsed.phone]
                    report.add(
                        data.where,
                        FieldError(
                            "phone",
                            "duplicate_in_file",
                            f"phone {parsed.phone} appears twice in this import",
                            {"value": parsed.phone, "where": first.describe_zh()},
                        ),
                    )
                    continue
                seen[parsed.phone] = data.where
                refused = _load(session, parsed, report, communities, units, password_hash, now)
                if refused is not None:
                    report.add(data.where, refused)
    return report


def _load(
    session: Session,
    row: MemberRow,
    report: ImportReport,
    communities: dict[str, GridNode | None],
    units: dict[str, Org],
    password_hash: str,
    now: datetime,
) -> FieldError | None:
    if row.community_code not in communities:
        communities[row.community_code] = session.scalar(
            select(GridNode).where(
                GridNode.code == row.community_code,
                GridNode.level == COMMUNITY_LEVEL,
                GridNode.deleted.is_(False),
            )
        )
    community = communities[row.community_code]
    if community is None:
        return FieldError(
            "community_code",
            "not_community",
            f"{row.community_code!r} is not the code of a community (a level-4 grid)",
            {"value": row.community_code},
        )
    member = session.scalar(select(Member).where(Member.phone == row.phone))
    if member is None:
        taken = session.scalar(select(User.username).where(User.username == row.phone))
        if taken is not None:
            return FieldError(
                "phone",
                "phone_taken",
                f"{row.phone} is already the username of another account",
                {"value": row.phone, "username": taken},
            )
    unit = _unit(session, row.employer, units, report)
    if member is None:
        user = create_user(
            session=session,
            username=row.phone,
            password_hash=password_hash,
            role=Role.HANDLER,
            display_name=row.name,
            grids=[community],
            org=unit,
        )
        session.add(
            Member(
                user_id=user.id,
                name=row.name,
                phone=row.phone,
                employer_org_id=unit.id,
                party_status=row.party_status,
                community_id=community.id,
                registered_on=row.registered_on,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        report.count("members", "created")
        return None
    wanted = {
        "name": row.name,
        "employer_org_id": unit.id,
        "party_status": row.party_status,
        "community_id": community.id,
        "registered_on": row.registered_on,
    }
    if all(getattr(member, k) == v for k, v in wanted.items()):
        report.count("members", "unchanged")
        return None
    user = session.get_one(User, member.user_id)
    if member.community_id != community.id:
        assign_grids(session=session, user=user, grids=[community])
    for key, value in wanted.items():
        setattr(member, key, value)
    member.updated_at = now
    user.display_name, user.org_id = row.name, unit.id
    session.flush()
    report.count("members", "updated")
    return None


def _unit(session: Session, name: str, units: dict[str, Org], report: ImportReport) -> Org:
    """The registry's unit of this name (of any kind), added as an employer when absent."""
    if name not in units:
        found = session.scalar(select(Org).where(Org.name == name, Org.deleted.is_(False)))
        if found is None:
            found = create_org(session=session, name=name, kind=OrgKind.EMPLOYER, grid=None)
            report.count("orgs", "created")
        else:
            report.count("orgs", "unchanged")
        units[name] = found
    return units[name]
