"""Importing members (党员报到名单): the row-level report, re-import, and the member signing in
to the app as a handler who serves the community they registered with."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import MovableClock
from sync_server.models import Member, Org, User
from sync_server.security import hash_password
from sync_server.services.imports import Actor, import_member_file
from tests.factories import TinyGrid

HEADER = ["姓名", "手机号", "工作单位", "政治面貌", "报到社区编码", "报到日期"]
PASSWORD = "member-pass-1"


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def run_import(
    factory: sessionmaker[Session], path: Path, clock: MovableClock, *, dry_run: bool = False
):  # type: ignore[no-untyped-def]
    with factory() as session, session.begin():
        return import_member_file(
            session=session,
            paths=[path],
            password_hash=hash_password(PASSWORD),
            actor=Actor(via="cli", username="cli:test"),
            now=clock.now(),
            dry_run=dry_run,
        )


GOOD = [
    ["王建国", "13912345678", "县财政局", "中共党员", "T1-1-1-1", "2026-03-01"],
    ["李秀英", "13812345679", "县财政局", "预备党员", "T1-1-1-2", ""],
    ["张伟", "13712345670", "县第一中学", "", "T1-1-1-1", "2026/4/2"],
]


def test_bad_rows_are_reported_by_row_and_column_and_the_rest_import(
    tiny: TinyGrid, session_factory: sessionmaker[Session], clock: MovableClock, tmp_path: Path
) -> None:
    bad = [
        ["", "13612345671", "县财政局", "中共党员", "T1-1-1-1", ""],  # row 5: no name
        ["赵六", "1361234", "县财政局", "中共党员", "T1-1-1-1", ""],  # row 6: short phone
        ["钱七", "13512345672", "县财政局", "党外人士", "T1-1-1-1", ""],  # row 7: party label
        [
            "孙八",
            "13412345673",
            "县财政局",
            "中共党员",
            "T1-1-1-1-1",
            "",
        ],  # row 8: a grid, not a community
        ["周九", "13912345678", "县财政局", "中共党员", "T1-1-1-1", ""],  # row 9: phone repeated
    ]
    report = run_import(session_factory, write_csv(tmp_path / "党员报到.csv", GOOD + bad), clock)

    assert report.counts["members"]["created"] == 3
    assert report.counts["orgs"]["created"] == 2  # 县财政局, 县第一中学 added as employers
    found = {(e.row, e.column, e.code) for e in report.errors}
    assert found == {
        (5, "姓名", "required"),
        (6, "手机号", "phone_length"),
        (7, "政治面貌", "choice"),
        (8, "报到社区编码", "not_community"),
        (9, "手机号", "duplicate_in_file"),
    }
    reasons = {e.row: e.reason_zh for e in report.errors}
    assert "不是社区" in reasons[8] and "第2行" in reasons[9]
    with session_factory() as session:
        members = {m.name: m for m in session.scalars(select(Member))}
        assert set(members) == {"王建国", "李秀英", "张伟"}
        assert members["李秀英"].party_status == "probationary"
        assert members["张伟"].party_status == "member"  # blank: a party member
        assert members["张伟"].registered_on.isoformat() == "2026-04-02"
        employer = session.get_one(Org, members["王建国"].employer_org_id)
        assert (employer.name, employer.kind, employer.grid_id) == ("县财政局", "employer", None)
        user = session.get_one(User, members["王建国"].user_id)
        assert (user.username, user.role, user.display_name) == ("13912345678", "handler", "王建国")
        assert [g.grid.code for g in user.grids] == ["T1-1-1-1"]


def test_importing_again_changes_nothing_and_an_edit_moves_the_member(
    tiny: TinyGrid, session_factory: sessionmaker[Session], clock: MovableClock, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "members.csv", GOOD)
    run_import(session_factory, path, clock)
    again = run_import(session_factory, path, clock)
    assert again.counts["members"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert again.counts["orgs"]["created"] == 0

    moved = [[*GOOD[0][:4], "T1-1-1-2", "2026-03-01"], *GOOD[1:]]
    report = run_import(session_factory, write_csv(tmp_path / "m2.csv", moved), clock)
    assert report.counts["members"] == {"created": 0, "updated": 1, "unchanged": 2}
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 3
        member = session.scalars(select(Member).where(Member.name == "王建国")).one()
        user = session.get_one(User, member.user_id)
        assert [g.grid.code for g in user.grids] == ["T1-1-1-2"]


def test_a_dry_run_reports_and_writes_nothing(
    tiny: TinyGrid, session_factory: sessionmaker[Session], clock: MovableClock, tmp_path: Path
) -> None:
    report = run_import(session_factory, write_csv(tmp_path / "m.csv", GOOD), clock, dry_run=True)
    assert report.counts["members"]["created"] == 3
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 0
        assert session.scalar(select(func.count()).select_from(Org)) == 0


def test_a_phone_that_is_already_someone_elses_username_is_refused(
    tiny: TinyGrid, session_factory: sessionmaker[Session], clock: MovableClock, tmp_path: Path
) -> None:
    rows = [["王建国", "13912345678", "县财政局", "", "T1-1-1-1", ""]]
    with session_factory() as session, session.begin():
        worker = session.merge(tiny.users["w11"])
        worker.username = "13912345678"
    report = run_import(session_factory, write_csv(tmp_path / "m.csv", rows), clock)
    assert [(e.row, e.code) for e in report.errors] == [(2, "phone_taken")]


def test_an_imported_member_signs_in_as_a_handler_of_their_community(
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    clock: MovableClock,
    client: TestClient,
    tmp_path: Path,
) -> None:
    run_import(session_factory, write_csv(tmp_path / "m.csv", GOOD[:1]), clock)
    login = client.post(
        "/api/v1/auth/login",
        json={"username": "13912345678", "password": PASSWORD, "device_id": str(uuid.uuid4())},
    )
    assert login.status_code == 200, login.text
    user = login.json()["user"]
    assert user["role"] == "handler"
    assert [g["code"] for g in user["grids"]] == ["T1-1-1-1"]
