"""Deadlines count working days: weekends and public holidays excluded (NĐ 98 Art. 32)."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.review.calendar import (DEFAULT_HOLIDAYS_2025_2026, VIETNAM, add_working_days, deadline_after,
                                      parse_holidays)

NONE = frozenset()


def test_one_working_day_after_a_friday_is_the_monday():
    assert add_working_days(date(2025, 11, 28), 1, NONE) == date(2025, 12, 1)


def test_the_start_day_itself_is_not_counted():
    assert add_working_days(date(2025, 12, 1), 1, NONE) == date(2025, 12, 2)


def test_one_working_day_after_a_saturday_is_the_monday():
    assert add_working_days(date(2025, 11, 29), 1, NONE) == date(2025, 12, 1)


def test_five_working_days_span_a_weekend():
    assert add_working_days(date(2025, 12, 3), 5, NONE) == date(2025, 12, 10)


def test_a_holiday_is_skipped_like_a_weekend():
    holidays = frozenset({date(2025, 12, 1)})

    assert add_working_days(date(2025, 11, 28), 1, holidays) == date(2025, 12, 2)


def test_five_working_days_before_tet_2025_end_after_the_break():
    # Thursday 2025-01-23: Friday 24, then the break 25/1–2/2, then Monday 3/2 onwards.
    assert add_working_days(date(2025, 1, 23), 5, DEFAULT_HOLIDAYS_2025_2026) == date(2025, 2, 6)


def test_ten_working_days_across_reunification_and_labour_day_2025():
    # Monday 2025-04-28: Tuesday 29, then 30/4, 1/5 and the bridge day 2/5 are off.
    assert add_working_days(date(2025, 4, 28), 10, DEFAULT_HOLIDAYS_2025_2026) == date(2025, 5, 15)


@pytest.mark.parametrize("days", [0, -1])
def test_a_deadline_is_at_least_one_working_day_away(days):
    with pytest.raises(ValueError):
        add_working_days(date(2025, 11, 28), days, NONE)


# --- Deadlines as moments ---

def test_a_deadline_ends_at_the_last_second_of_its_day_in_vietnam():
    now = datetime(2025, 11, 28, 9, 0, tzinfo=VIETNAM)

    deadline = deadline_after(now, 1, NONE)

    assert deadline == datetime(2025, 12, 1, 23, 59, 59, tzinfo=VIETNAM)
    assert deadline.utcoffset() == timedelta(hours=7)


def test_the_day_counts_from_vietnam_time_not_utc():
    # 18:00 UTC on Thursday is already Friday 01:00 in Hanoi: one working day later is Monday.
    now = datetime(2025, 11, 27, 18, 0, tzinfo=timezone.utc)

    assert deadline_after(now, 1, NONE) == datetime(2025, 12, 1, 23, 59, 59, tzinfo=VIETNAM)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="timezone"):
        deadline_after(datetime(2025, 11, 28, 9, 0), 1, NONE)


# --- Holidays from configuration ---

def test_holidays_parse_from_commas_and_whitespace():
    text = " 2025-01-01, 2025-04-30\n2025-05-01\t2025-09-02,,"

    assert parse_holidays(text) == frozenset({date(2025, 1, 1), date(2025, 4, 30), date(2025, 5, 1),
                                              date(2025, 9, 2)})


def test_empty_text_gives_no_holidays():
    assert parse_holidays("   ") == frozenset()


@pytest.mark.parametrize("bad", ["2025-02-30", "30/04/2025", "20250430", "2025-4-30", "tet"])
def test_a_malformed_holiday_is_named_in_the_error(bad):
    with pytest.raises(ValueError, match=bad):
        parse_holidays(f"2025-01-01,{bad}")


# --- The default list ---

@pytest.mark.parametrize("day", [date(2025, 1, 1), date(2025, 1, 29), date(2025, 4, 7), date(2025, 4, 30),
                                 date(2025, 5, 1), date(2025, 9, 1), date(2025, 9, 2), date(2026, 1, 1),
                                 date(2026, 2, 17), date(2026, 4, 27), date(2026, 4, 30), date(2026, 5, 1),
                                 date(2026, 9, 2)])
def test_the_default_list_holds_the_public_holidays(day):
    assert day in DEFAULT_HOLIDAYS_2025_2026


def test_the_tet_2025_break_runs_from_25_january_to_2_february():
    tet = {d for d in DEFAULT_HOLIDAYS_2025_2026 if date(2025, 1, 2) <= d <= date(2025, 3, 31)}

    assert min(tet) == date(2025, 1, 25) and max(tet) == date(2025, 2, 2) and len(tet) == 9


def test_ordinary_working_days_are_not_in_the_default_list():
    assert date(2025, 1, 24) not in DEFAULT_HOLIDAYS_2025_2026
    assert date(2025, 2, 3) not in DEFAULT_HOLIDAYS_2025_2026
    assert date(2025, 12, 1) not in DEFAULT_HOLIDAYS_2025_2026
