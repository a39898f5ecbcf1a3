"""The award register's rules (standard library only): whose entry is whose, and claims checked against it.

The commendation office keeps a record of every award (Law 06/2022 Art. 89(2)(e)); a title the nominee's
history claims is taken from it, not on the unit's word:

- a title this ministry decides (``DECIDED_HERE``) must be an ``awarded`` entry of that person and year;
- a title decided centrally (CSTD_TQ, CO_CP, BK_TTG, HCLD3) needs an entry or its decision document
  (``quyet_dinh``) in the dossier;
- a year before the register's first year is taken as declared, and flagged as such (the register
  cannot know it), so an empty register takes every claim as declared;
- a revoked entry (Art. 93) proves nothing.

Entries also count where the unit typed nothing: ``with_register`` adds the person's awarded titles to
the history that eligibility reads. ``TDKT_REGISTER_CHECK``: ``strict`` refuses a mismatch
(``not_in_register``), ``warn`` keeps it as a note for the council, ``off`` checks nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.intake.messages import unmet
from shared.contract.awards import DECIDED_HERE

STRICT, WARN, OFF = "strict", "warn", "off"
AWARDED, REVOKED = "awarded", "revoked"
DECISION_DOCUMENT = "quyet_dinh"


@dataclass(frozen=True)
class Entry:
    award_code: str
    award_year: int
    state: str = AWARDED


def holder_key(unit_id: str, kind: str, employee_id: str | None, name: str | None) -> str:
    """Whose entry: an individual by unit and employee id; a collective by unit and its name."""
    if kind == "individual":
        return f"{unit_id}:{employee_id}"
    return f"{unit_id}:#{(name or '').casefold()}"[:130]


def nominee_key(unit_id: str, nominee: dict) -> str:
    return holder_key(unit_id, nominee["kind"], nominee.get("employee_id"),
                      nominee.get("full_name") or nominee.get("name"))


@dataclass
class ClaimCheck:
    unmet: list  # refusals under strict: [{"code", "message", "message_en"}]
    notes: list  # shown to the council: claims taken as declared, mismatches under warn


def check_claims(body: dict, entries: list[Entry], first_year: int | None, mode: str) -> ClaimCheck:
    """Every title the history claims, against the person's ``entries``; ``first_year`` is the register's
    first year (None: the register is empty, so every claim is taken as declared)."""
    check = ClaimCheck([], [])
    if mode == OFF:
        return check
    awarded = {(e.award_code, e.award_year) for e in entries if e.state == AWARDED}
    revoked = {(e.award_code, e.award_year) for e in entries if e.state == REVOKED}
    has_decision = any(d["kind"] == DECISION_DOCUMENT for d in body.get("documents", ()))
    for row in sorted(body.get("history", ()), key=lambda r: r["year"]):
        year = row["year"]
        for title in dict.fromkeys([*row.get("titles", ()), *row.get("adhoc_titles", ())]):
            if (title, year) in awarded:
                continue
            if (title, year) not in revoked and (first_year is None or year < first_year):
                check.notes.append(_note("declared_before_register", title, year))
            elif title not in DECIDED_HERE and has_decision and (title, year) not in revoked:
                continue
            else:
                code = "not_in_register" if title in DECIDED_HERE or (title, year) in revoked \
                    else "decision_document_required"
                why = " (đã bị hủy bỏ / revoked)" if (title, year) in revoked else ""
                if mode == STRICT:
                    check.unmet.append(unmet(code, title=title, year=year, why=why))
                else:
                    check.notes.append(_note(code, title, year, why=why))
    return check


def _note(code: str, title: str, year: int, **params) -> dict:
    return {**unmet(code, title=title, year=year, **params), "title": title, "year": year}


def with_register(body: dict, entries: list[Entry]) -> dict:
    """The body as eligibility should read it: the person's awarded titles added to their years (a year
    the unit did not type becomes a row with the title and no rating)."""
    rows = {row["year"]: dict(row) for row in body.get("history", ())}
    for entry in entries:
        if entry.state != AWARDED or entry.award_year > body["award_year"]:
            continue
        row = rows.setdefault(entry.award_year, {"year": entry.award_year, "rating": None, "titles": []})
        if entry.award_code not in row.get("titles", ()):
            row["titles"] = [*row.get("titles", ()), entry.award_code]
    return {**body, "history": [rows[year] for year in sorted(rows)]}
