"""Working days as the office counts them: China's public holidays and 调休 (from the State
Council's notice, as chinesecalendar packages it), Monday–Friday for a year not yet known."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from orchestrator.workdays import is_working_day, known, working_days_after


def noon(year: int, month: int, day: int) -> datetime:
    """12:00 in Shanghai, in UTC."""
    return datetime(year, month, day, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        (noon(2026, 12, 4), 1, noon(2026, 12, 7)),  # Friday -> Monday
        (noon(2026, 12, 4), 3, noon(2026, 12, 9)),
        # 春节 2026: Saturday 14 Feb is worked (调休), 15–23 Feb are holidays.
        (noon(2026, 2, 13), 1, noon(2026, 2, 14)),
        (noon(2026, 2, 13), 3, noon(2026, 2, 25)),
        # 国庆 2026: 1–7 Oct off, Saturday 10 Oct worked.
        (noon(2026, 9, 30), 1, noon(2026, 10, 8)),
        (noon(2026, 10, 9), 1, noon(2026, 10, 10)),
    ],
)
def test_holidays_and_the_weekends_worked_instead(
    start: datetime, days: int, end: datetime
) -> None:
    assert working_days_after(start, days) == end


def test_a_day_is_what_the_notice_says() -> None:
    assert not is_working_day(date(2026, 10, 1))  # Thursday, 国庆
    assert is_working_day(date(2026, 2, 28))  # Saturday, 调休
    assert not is_working_day(date(2026, 12, 5))  # an ordinary Saturday
    assert known(date(2026, 12, 31))


def test_a_year_not_yet_known_counts_monday_to_friday_and_says_so() -> None:
    far = date(2099, 1, 1)
    assert not known(far)
    assert is_working_day(far) is (far.weekday() < 5)
    friday = datetime(2099, 1, 2, 4, 0, tzinfo=UTC)
    assert working_days_after(friday, 1) == datetime(2099, 1, 5, 4, 0, tzinfo=UTC)


def test_the_offices_own_file_wins_over_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator import workdays

    path = tmp_path / "holidays.yaml"
    # 2027 is not in the package yet: the office adds 元旦 and a 调休 Saturday itself.
    path.write_text("holidays: [2027-01-01]\nworkdays: [2027-01-02]\n", encoding="utf-8")
    monkeypatch.setenv("SANSHEN_HOLIDAYS_FILE", str(path))
    assert not is_working_day(date(2027, 1, 1)) and is_working_day(date(2027, 1, 2))
    assert known(date(2027, 3, 1))
    assert working_days_after(noon(2026, 12, 31), 1) == noon(2027, 1, 2)
    path.write_text("holidays: [2027-01-01]\nworkdays: [2027-01-01]\n", encoding="utf-8")
    workdays._overrides.cache_clear()
    with pytest.raises(workdays.InvalidInput, match="既是休息日又是工作日"):
        is_working_day(date(2027, 1, 4))
    workdays._overrides.cache_clear()
