"""Working days for deadlines (standard library only).

Deadlines count working days: weekends and public holidays excluded (NĐ 98 Art. 32 — 5 working days to
return an ineligible dossier, 20 to appraise, 10 to notify a decision). Holidays are data: the operator
supplies them (see ``parse_holidays``); ``DEFAULT_HOLIDAYS_2025_2026`` is only a starting list.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7))
END_OF_DAY = time(23, 59, 59)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    """Monday to Friday and not a public holiday. (Swapped working Saturdays are not modelled.)"""
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, days: int, holidays: frozenset[date]) -> date:
    """The date ``days`` working days after ``start``; ``start`` itself is not counted, whatever it is.

    Raises ``ValueError`` unless ``days`` ≥ 1.
    """
    if days < 1:
        raise ValueError(f"a deadline is at least one working day away, not {days}")
    day = start
    while days:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            days -= 1
    return day


def deadline_after(now: datetime, days: int, holidays: frozenset[date]) -> datetime:
    """The end (23:59:59 Vietnam time, timezone-aware) of the ``days``-th working day after ``now``'s
    date in Vietnam. ``now`` must be timezone-aware (``ValueError`` otherwise): a naive time could be
    read a day off near midnight."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(VIETNAM).date()
    return datetime.combine(add_working_days(today, days, holidays), END_OF_DAY, tzinfo=VIETNAM)


def parse_holidays(text: str) -> frozenset[date]:
    """Holidays from comma- or whitespace-separated ISO dates (``YYYY-MM-DD``), e.g. an environment
    variable. Empty text gives no holidays; a malformed date raises ``ValueError`` naming it."""
    holidays = set()
    for token in re.split(r"[,\s]+", text.strip()):
        if not token:
            continue
        try:
            if not _ISO_DATE.fullmatch(token):
                raise ValueError
            holidays.add(date.fromisoformat(token))
        except ValueError:
            raise ValueError(f"not a holiday date (YYYY-MM-DD): {token!r}") from None
    return frozenset(holidays)


def _days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


# Vietnam's public holidays for 2025 and 2026 (Labour Code 2019 Art. 112; days off for civil servants as
# announced by the Ministry of Home Affairs). Operator-configurable: this is a default, not an authority;
# deployments should pass the year's official list (``parse_holidays``). Weekend dates inside a break are
# harmless. Working Saturdays given in exchange for a bridge day (e.g. 2025-02-08, 2025-04-26) are NOT
# modelled, so a deadline spanning one lands at most a day late.
DEFAULT_HOLIDAYS_2025_2026 = frozenset(
    # 2025
    {date(2025, 1, 1)}                                  # New Year
    | _days(date(2025, 1, 25), date(2025, 2, 2))        # Tết Ất Tỵ, official 9-day break
    | {date(2025, 4, 7)}                                # Hùng Kings (10/3 lunar)
    | {date(2025, 4, 30), date(2025, 5, 1)}             # Reunification Day, Labour Day
    | {date(2025, 5, 2)}                                # bridge day off, swapped with Saturday 2025-04-26
    | {date(2025, 9, 1), date(2025, 9, 2)}              # National Day and the adjacent day
    # 2026
    | {date(2026, 1, 1)}                                # New Year (any bridge day: operators should check)
    | _days(date(2026, 2, 14), date(2026, 2, 22))       # Tết Bính Ngọ: as announced; operators should check
    | {date(2026, 4, 26), date(2026, 4, 27)}            # Hùng Kings falls on a Sunday; Monday is the day in lieu
    | {date(2026, 4, 30), date(2026, 5, 1)}             # Reunification Day, Labour Day
    | {date(2026, 9, 1), date(2026, 9, 2)}              # National Day; the adjacent day may instead be 09-03:
                                                        # the Prime Minister fixes it yearly; operators should check
)
