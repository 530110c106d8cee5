"""`importer.cells`: Excel serial numbers read as the dates and times Excel shows (openpyxl's
conversion, to the second), for the roster's dates and the platform's completion times alike."""

from __future__ import annotations

from datetime import date, datetime

from shared.errors import FieldError
from sync_server.importer import cells
from sync_server.importer.completions import parse_moment

TODAY = date(2025, 6, 30)


def test_a_serial_number_in_a_date_column_is_the_day_excel_shows() -> None:
    assert cells.parse_date("start_date", 45000, today=TODAY) == date(2023, 3, 15)
    assert cells.parse_date("start_date", 45000.0, today=TODAY) == date(2023, 3, 15)
    assert cells.parse_date("start_date", 20240301, today=TODAY) == date(2024, 3, 1)  # compact
    bad = cells.parse_date("start_date", 12345, today=TODAY)  # a number, not a date
    assert isinstance(bad, FieldError) and bad.code == "date_format"


def test_a_serial_date_time_is_read_to_the_second() -> None:
    assert cells.excel_serial(45000.354166666) == datetime(2023, 3, 15, 8, 30)
    assert cells.excel_serial(45000.9999999) == datetime(2023, 3, 16)
    moment = parse_moment(45000.5)
    assert moment is not None and moment.replace(tzinfo=None) == datetime(2023, 3, 15, 12)
    assert not cells.is_excel_serial(True) and not cells.is_excel_serial(1234)
