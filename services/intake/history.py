"""The nominee's yearly history, read the way the law reads it (standard library only).

Years up to the last disciplined one do not count: achievements count from the end of the discipline
period (NĐ 98 Art. 4). Ad-hoc and campaign titles (listed in a row's ``adhoc_titles``) never count toward
a merit prerequisite. Initiatives already backing another award of the same person are never offered.
"""
from __future__ import annotations

GOOD = ("HTXSNV", "HTTNV")
SCOPE_RANK = {"co_so": 1, "bo": 2, "toan_quoc": 3}


class History:
    """The nominee's years, with the law's ways of reading them."""

    def __init__(self, rows: list[dict], award_year: int, used_initiatives=frozenset()):
        self.rows = {row["year"]: row for row in rows}
        self.year = award_year
        self.used = frozenset(used_initiatives)
        disciplined = [y for y, row in self.rows.items() if row.get("disciplined")]
        self.counts_from = max(disciplined) + 1 if disciplined else None

    def row(self, year) -> dict | None:
        row = self.rows.get(year)
        return row if row and (self.counts_from is None or year >= self.counts_from) else None

    def rated(self, year, ratings=GOOD) -> bool:
        row = self.row(year)
        return bool(row) and row["rating"] in ratings

    def title(self, year, code) -> bool:
        """A merit title ``code`` received for ``year`` (ad-hoc and campaign awards do not count)."""
        row = self.row(year)
        return bool(row) and code in row.get("titles", ()) and code not in row.get("adhoc_titles", ())

    def held_years(self, code) -> list[int]:
        """Years a merit title ``code`` was awarded for. A later discipline restarts the counting of
        achievements, it does not take back an award already held, so every year is read here."""
        return sorted(y for y, row in self.rows.items()
                      if code in row.get("titles", ()) and code not in row.get("adhoc_titles", ()))

    def initiatives(self, years, min_scope="co_so") -> list[dict]:
        """Unused initiatives recognised in ``years`` at ``min_scope`` or wider, narrowest first."""
        found = [i for y in years if (row := self.row(y)) for i in row.get("initiatives", ())
                 if SCOPE_RANK[i["scope"]] >= SCOPE_RANK[min_scope] and i["id"] not in self.used]
        return sorted(found, key=lambda i: (SCOPE_RANK[i["scope"]], i["id"]))

    def used_elsewhere(self, years) -> list[str]:
        return sorted({i["id"] for y in years if (row := self.row(y)) for i in row.get("initiatives", ())
                       if i["id"] in self.used})

    def good_streak_before(self, end: int) -> list[int]:
        """The consecutive years ending at ``end`` rated HTTNV or better."""
        years, year = [], end
        while self.rated(year):
            years.append(year)
            year -= 1
        return years
