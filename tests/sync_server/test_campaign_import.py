"""Platform completion import: bad rows reported with row and reason, good rows imported, the
same file again adds nothing — on SQLite (batched INSERT OR IGNORE) and PostgreSQL (COPY)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from shared.campaigns import NewCampaign
from shared.clock import CHINA_TIME
from shared.validation import id_check_char
from sync_server.cli import app as cli
from sync_server.config import Settings, get_settings
from sync_server.db import make_engine, make_sessionmaker
from sync_server.importer.completions import CompletionReport, import_completions
from sync_server.models import Campaign, Change, Completion, CompletionMark, Resident, User
from sync_server.services.campaigns import create_campaign as create_campaign_service
from sync_server.services.changes import ChangeSet, commit_changes
from tests.conftest import TEST_SECRET
from tests.days import RUN_CLOCK, at, day, iso
from tests.factories import TinyGrid, make_tiny_grid
from tests.sync_server.campaign_helpers import START, create_campaign, upload, write_completions
from tests.sync_server.conftest import login

NOW = at(0, 12).replace(tzinfo=None)  # China time, naive = CST in the importer's eyes


def stranger(n: int = 1) -> str:
    first17 = f"110105{1980 + n}0101{n:03d}"
    return first17 + id_check_char(first17)


def roster(session: Session) -> list[str]:
    return sorted(session.scalars(select(Resident.id_number)))


def run(
    session: Session, campaign: Campaign, path: Path, changes: ChangeSet | None = None
) -> CompletionReport:
    return import_completions(
        session=session,
        campaign=campaign,
        path=path,
        changes=changes,
        now=NOW.replace(tzinfo=CHINA_TIME),
        chunk_rows=3,  # several chunks even for a small file
    )


@pytest.fixture
def setup(session: Session) -> tuple[Campaign, list[str]]:
    tiny = make_tiny_grid(session)
    body = NewCampaign.model_validate(
        {
            "name": "第3轮核酸",
            "kind": "testing",
            "start_date": iso(-8),
            "end_date": iso(2),
            "rule": {"grid_id": "T1"},
        }
    )
    campaign = create_campaign_service(
        session=session, user=tiny.users["admin"], body=body, now=RUN_CLOCK.now()
    )
    return campaign, roster(session)


def test_bad_rows_are_reported_and_good_rows_imported(
    session: Session, setup: tuple[Campaign, list[str]], tmp_path: Path
) -> None:
    campaign, ids = setup
    bad_digit = ids[0][:17] + ("0" if ids[0][17] != "0" else "1")
    rows = [
        (ids[0], f"{iso(-7)} 08:30:00", "西门采样点"),  # 2
        (ids[1], f"{day(-7):%Y/%m/%d} 9:05", ""),  # 3
        (bad_digit, f"{iso(-7)} 08:30:00", ""),  # 4
        ("35012819", f"{iso(-7)} 08:30:00", ""),  # 5
        (ids[2], "昨天下午", ""),  # 6
        (ids[3], f"{iso(-27)} 10:00:00", ""),  # 7 before the campaign
        (ids[4], "", ""),  # 8
        (stranger(), f"{iso(-7)} 10:00:00", ""),  # 9 not on the roster
        (ids[5], f"{iso(-7)} 10:00:00", "采" * 201),  # 10 a place too long: kept aside
        ("3.50128E+17", f"{iso(-7)} 10:00:00", ""),  # 11
        (ids[0], f"{iso(-7)} 08:30:00", "西门采样点"),  # 12 repeated in the file
        (ids[0], f"{iso(-3)}T08:30:00+08:00", "复检"),  # 13 a second completion
        (ids[6], f"{iso(1)} 10:00:00", ""),  # 14 tomorrow, China time
        (ids[6][:6] + ids[6][8:17], f"{iso(-7)} 11:00:00", ""),  # 15 its old 15 digits
    ]
    changes = ChangeSet()
    report = run(session, campaign, write_completions(tmp_path / "平台.csv", rows), changes)
    found = {(e.row, e.column, e.code) for e in report.errors}
    assert found == {
        (4, "身份证号", "id_check_digit"),
        (5, "身份证号", "id_length"),
        (6, "完成时间", "time_format"),
        (7, "完成时间", "outside_window"),
        (8, "完成时间", "required"),
        (9, "身份证号", "unknown_person"),
        (11, "身份证号", "id_numeric_cell"),
        (14, "完成时间", "time_future"),
    }
    zh = {e.row: e.reason_zh for e in report.errors}
    assert "不在活动期间" in zh[7] and f"{iso(-8)}至{iso(2)}" in zh[7]
    assert "没有该身份证号" in zh[9] and stranger()[-4:] in zh[9]
    warned = {(w.row, w.column, w.code) for w in report.warnings}
    assert warned == {(10, "完成地点", "too_long"), (15, "身份证号", "id_converted")}
    assert (report.rows_read, report.imported, report.duplicates) == (14, 5, 1)
    assert (report.rejected_rows, report.residents_completed) == (8, 4)
    assert report.error_counts["unknown_person"] == 1
    stored = session.scalars(select(Completion).order_by(Completion.completed_at)).all()
    assert [(c.id_number, c.completed_at.isoformat(), c.place) for c in stored] == [
        (ids[0], f"{iso(-7)}T00:30:00+00:00", "西门采样点"),
        (ids[1], f"{iso(-7)}T01:05:00+00:00", ""),
        (ids[5], f"{iso(-7)}T02:00:00+00:00", ""),
        (ids[6], f"{iso(-7)}T03:00:00+00:00", ""),
        (ids[0], f"{iso(-3)}T00:30:00+00:00", "复检"),
    ]
    assert len(changes) == 4  # four residents newly completed, each in one grid


def test_importing_again_adds_nothing(
    session: Session, setup: tuple[Campaign, list[str]], tmp_path: Path
) -> None:
    campaign, ids = setup
    rows = [(i, f"{iso(-8 + n % 5)} 0{n % 9}:15:00", "点") for n, i in enumerate(ids)]
    path = write_completions(tmp_path / "round3.csv", rows)
    first_changes = ChangeSet()
    first = run(session, campaign, path, first_changes)
    commit_changes(session=session, changes=first_changes)
    changes_before = session.scalar(select(func.count()).select_from(Change))
    again_changes = ChangeSet()
    again = run(session, campaign, path, again_changes)
    assert (first.imported, first.residents_completed) == (len(ids), len(ids))
    assert (again.imported, again.duplicates, again.residents_completed) == (0, len(ids), 0)
    assert len(again_changes) == 0
    assert session.scalar(select(func.count()).select_from(Change)) == changes_before
    assert session.scalar(select(func.count()).select_from(Completion)) == len(ids)
    assert session.scalar(select(func.count()).select_from(CompletionMark)) == len(ids)
    assert first.batch_id is not None and again.batch_id != first.batch_id


def test_excel_with_title_row_aliases_and_date_cells(
    session: Session, setup: tuple[Campaign, list[str]], tmp_path: Path
) -> None:
    campaign, ids = setup
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "平台数据"
    sheet.append(["海坛片区第3轮核酸检测完成名单"])
    sheet.append(["序号", "姓名", "身份证号码", "采样时间", "采样点"])
    sheet.append([1, "张三", ids[0], at(-7, 8, 30).replace(tzinfo=None), "西门采样点"])
    sheet.append([2, "李四", ids[1], f"{iso(-6)} 10:00", None])
    sheet.append([3, "王五", int(ids[2][:15]) * 1000, at(-7, 8, 30).replace(tzinfo=None), None])
    path = tmp_path / "平台.xlsx"
    workbook.save(path)
    report = run(session, campaign, path)
    assert [(e.row, e.code) for e in report.errors] == [(5, "id_numeric_cell")]
    assert (report.imported, report.residents_completed) == (2, 2)
    assert {"序号", "姓名"} <= set(report.ignored_columns)
    # The same completion from a CSV export of the same data is not added again.
    csv_path = write_completions(tmp_path / "same.csv", [(ids[0], f"{iso(-7)} 08:30", "x")])
    assert run(session, campaign, csv_path).duplicates == 1


def test_unreadable_files_are_reported_not_raised(
    session: Session, setup: tuple[Campaign, list[str]], tmp_path: Path
) -> None:
    campaign, ids = setup
    no_time = tmp_path / "no_time.csv"
    no_time.write_text("身份证号,地点\n" + ids[0] + ",x\n", encoding="utf-8")
    report = run(session, campaign, no_time)
    assert [(e.code, e.row) for e in report.errors] == [("unknown_sheet", 0)]
    assert "完成情况表" in report.errors[0].reason_zh
    gbk = tmp_path / "gbk.csv"
    with gbk.open("w", encoding="gb18030", newline="") as f:
        csv.writer(f).writerows([["公民身份号码", "检测时间"], [ids[0], f"{iso(-7)} 08:00"]])
    assert run(session, campaign, gbk).imported == 1
    wrong = tmp_path / "data.txt"
    wrong.write_text("x")
    assert [e.code for e in run(session, campaign, wrong).errors] == ["file_type"]


def test_upload_through_the_api_with_dry_run(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    campaign = create_campaign(client, "T1")
    with session_factory() as session:
        ids = roster(session)
    path = write_completions(
        tmp_path / "upload.csv",
        [(i, f"{iso(-7)} 08:00:00", "") for i in ids]
        + [(stranger(), f"{iso(-7)} 08:00", "")]
        + [(ids[0], f"{iso(-6)} 09:00:00", "采" * 201)],  # a second one, its place too long
    )
    dry = upload(client, campaign["id"], path, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert (dry.json()["imported"], dry.json()["rejected_rows"]) == (len(ids) + 1, 1)
    assert dry.json()["errors"][0]["code"] == "unknown_person"
    [warning] = dry.json()["warnings"]  # the answer tells the rows imported with a warning
    assert (warning["row"], warning["code"]) == (len(ids) + 3, "too_long")
    assert "该项未导入" in warning["reason_zh"] and dry.json()["ignored_columns"] == []
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Completion)) == 0
    real = upload(client, campaign["id"], path)
    assert (real.json()["imported"], real.json()["residents_completed"]) == (len(ids) + 1, len(ids))
    again = upload(client, campaign["id"], path)
    assert (again.json()["imported"], again.json()["duplicates"]) == (0, len(ids) + 1)
    with path.open("rb") as f:
        refused = client.post(
            f"/api/v1/campaigns/{campaign['id']}/completions",
            files={"file": (path.name, f, "text/csv")},
            headers=login(client, "s1"),
        )
    assert (refused.status_code, refused.json()["code"]) == (403, "admin_only")
    with path.open("rb") as f:
        wrong = client.post(
            f"/api/v1/campaigns/{campaign['id']}/completions",
            files={"file": ("data.pdf", f, "application/pdf")},
            headers=login(client, "admin"),
        )
    assert wrong.status_code == 422


def test_cli_imports_completions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("GRIDSWEEP_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
        settings = get_settings()
        engine = make_engine(settings)
        with make_sessionmaker(engine)() as session, session.begin():
            tiny = make_tiny_grid(session)
            ids = roster(session)
            body = NewCampaign.model_validate(
                {
                    "name": "第3轮核酸",
                    "kind": "testing",
                    "start_date": START.isoformat(),
                    "end_date": iso(2),
                    "rule": {"grid_id": "T1"},
                }
            )
            create_campaign_service(
                session=session, user=tiny.users["admin"], body=body, now=RUN_CLOCK.now()
            )
        engine.dispose()
        rows = [(i, f"{iso(-7)} 08:00:00", "") for i in ids] + [("123", iso(-7), "")]
        file = write_completions(tmp_path / "round.csv", rows)
        result = runner.invoke(cli, ["import", "completions", "第3轮核酸", str(file)])
        assert result.exit_code == 1, result.output  # one bad row
        assert f"导入 {len(ids)} 条" in result.output
        assert "第" in result.output and "身份证号" in result.output
        again = runner.invoke(cli, ["import", "completions", "第3轮核酸", str(file)])
        assert f"已导入过 {len(ids)} 条" in again.output
        missing = runner.invoke(cli, ["import", "completions", "第9轮", str(file)])
        assert missing.exit_code == 1 and "第9轮" in missing.output
    finally:
        get_settings.cache_clear()


# --- both databases ----------------------------------------------------------------------------


@pytest.fixture
def any_db(any_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine: Engine = make_engine(any_settings)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_import_is_the_same_on_sqlite_and_postgresql(
    any_db: sessionmaker[Session], tmp_path: Path
) -> None:
    with any_db() as session, session.begin():
        tiny = make_tiny_grid(session)
        body = NewCampaign.model_validate(
            {
                "name": "加强针",
                "kind": "vaccination",
                "start_date": iso(-8),
                "end_date": iso(2),
                "rule": {"grid_id": "T1-1-1-1"},
            }
        )
        campaign_id = create_campaign_service(
            session=session, user=tiny.users["admin"], body=body, now=RUN_CLOCK.now()
        ).id
        ids = roster(session)
    rows: list[Any] = [(i, f"{iso(-7)} 08:00:00", "接种点") for i in ids]
    rows += [(ids[0], f"{iso(-6)} 08:00:00", ""), (ids[0], f"{iso(-7)} 08:00:00", "接种点")]
    rows += [(stranger(), f"{iso(-7)} 08:00:00", "")]
    path = write_completions(tmp_path / "v.csv", rows)
    outcomes = []
    for _ in range(2):
        with any_db() as session, session.begin():
            campaign = session.get_one(Campaign, campaign_id)
            changes = ChangeSet()
            report = run(session, campaign, path, changes)
            commit_changes(session=session, changes=changes)
            outcomes.append(
                (report.imported, report.duplicates, report.rejected_rows, len(changes))
            )
    in_community = 6  # the campaign's grids hold 6 of the 12 residents
    assert outcomes == [
        (len(ids) + 1, 1, 1, in_community),
        (0, len(ids) + 2, 1, 0),
    ]
    with any_db() as session:
        assert session.scalar(select(func.count()).select_from(Completion)) == len(ids) + 1
        assert session.scalar(select(func.count()).select_from(CompletionMark)) == len(ids)
        assert session.scalar(select(func.count()).select_from(User)) > 0
        assert day(-8) == session.get_one(Campaign, campaign_id).start_date


def test_rows_naming_nobody_are_reported_in_file_order_and_progress_is_told(
    session: Session, setup: tuple[Campaign, list[str]], tmp_path: Path
) -> None:
    """Unknown ID numbers are found set-based after the file is read, yet the report lists them
    among the other errors in row order; the importer tells the share of the file done."""
    campaign, ids = setup
    rows = [(ids[n % len(ids)], f"{iso(-7)} 08:{n:02d}:00", f"点\t{n}\\") for n in range(40)]
    rows[3] = (stranger(1), f"{iso(-7)} 08:00:00", "")  # row 5
    rows[10] = (ids[0], "不是时间", "")  # row 12
    rows[30] = (stranger(2), f"{iso(-7)} 08:00:00", "")  # row 32
    shares: list[float] = []
    report = import_completions(
        session=session,
        campaign=campaign,
        path=write_completions(tmp_path / "order.csv", rows),
        now=NOW.replace(tzinfo=CHINA_TIME),
        chunk_rows=7,
        progress=shares.append,
    )
    assert [(e.row, e.code) for e in report.errors] == [
        (5, "unknown_person"),
        (12, "time_format"),
        (32, "unknown_person"),
    ]
    assert (report.rows_read, report.rejected_rows, report.imported) == (40, 3, 37)
    assert shares == sorted(shares) and shares[-1] == 1.0 and 0 < shares[0] < 1
    # A backslash in a place survives PostgreSQL's COPY text form (a tab is cleaned to a space).
    places = set(session.scalars(select(Completion.place)))
    assert "点 1\\" in places
