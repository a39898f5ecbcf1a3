"""The yearly statistics forms of Thông tư 02/2023/TT-BNV that review's data can fill (standard library only).

Reporting year N runs from 1 December of N-1 to 30 November of N (Vietnam time). Every number is a cell
with the nominations behind it, so ``tdkt report forms --explain`` can trace it. What the data cannot
know is left out and said so.

- 0603.N (ministry-level commendation): awards the Minister decides (BK_BO, CSTD_BO, CO_BO, TTLDXS). The
  council only advises: an award is the head's decision (recorded in the register, #17), so a case counts
  in the year of its decision's date, and not once that decision is revoked (Law Art. 93); an approval the
  Minister has not (yet) decided is not an award. Collectives and individuals (of whom direct workers), by
  kind (Law Art. 8).
- 0602.N (state-level awards): the ministry council's outcomes in the year, by the date it recorded them
  (``decided_at``): proposals to the central level (CSTD_TQ, CO_CP, BK_TTG, HCLD3) and those not
  proposed, collectives and individuals; and of the proposals, those the central level has awarded (its
  decision recorded in the register, not revoked).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7))
MINISTRY_LEVEL = ("BK_BO", "CSTD_BO", "CO_BO", "TTLDXS")  # decided by the Minister
STATE_LEVEL = ("CSTD_TQ", "CO_CP", "BK_TTG", "HCLD3")  # proposed to the Prime Minister / President
KINDS = ("cong_trang", "chuyen_de", "dot_xuat", "doi_ngoai", "cong_hien", "nien_han")
KIND_NAMES = {"cong_trang": "Thường xuyên (công trạng)", "chuyen_de": "Chuyên đề", "dot_xuat": "Đột xuất",
              "doi_ngoai": "Đối ngoại", "cong_hien": "Cống hiến", "nien_han": "Niên hạn"}
LEFT_OUT = {
    "0601.N": "Phong trào thi đua: hệ thống không quản lý phong trào thi đua. / "
              "Emulation campaigns are not in the data.",
    "0604.N": "Tổ chức bộ máy làm công tác TĐKT: không có trong dữ liệu. / "
              "The office's organisation is not in the data.",
    "0605.N": "Đội ngũ cán bộ làm công tác TĐKT: không có trong dữ liệu. / The office's staff are not in the data.",
}
LEFT_OUT_COLUMNS = {
    "0603.N": "Cá nhân theo chức vụ (lãnh đạo/quản lý) và hình thức đối ngoại, niên hạn: không có trong dữ "
              "liệu hồ sơ; chỉ tách được người lao động trực tiếp. / Individuals by position and the foreign and "
              "seniority kinds are not in the data; only direct workers can be told apart.",
    "0602.N": "Cấp trên (Chủ tịch nước, Thủ tướng) khen thưởng: chỉ tính các quyết định đã được ghi vào cơ sở dữ "
              "liệu khen thưởng. / Central awards count only when their decision is recorded in the register.",
}


def reporting_year(moment: datetime) -> int:
    """The reporting year a time falls in: 1 December of N-1 to 30 November of N, in Vietnam."""
    return reporting_year_of(moment.astimezone(VIETNAM).date() if moment.tzinfo else moment.date())


def reporting_year_of(day: date) -> int:
    """The reporting year of a calendar day in Vietnam (a decision's date, as written)."""
    return day.year + 1 if (day.month, day.day) >= (12, 1) else day.year


def reporting_period(year: int) -> tuple[date, date]:
    return date(year - 1, 12, 1), date(year, 11, 30)


class Cell:
    def __init__(self):
        self.ids: list[str] = []

    def add(self, nomination_id: str) -> None:
        self.ids.append(nomination_id)


def _table(name: str, columns: list[tuple[str, str]], rows: list[tuple[str, str]]) -> dict:
    return {"form": name, "columns": columns, "rows": rows,
            "cells": {(row, column): Cell() for row, _ in rows for column, _ in columns}}


def _finish(table: dict, title: str, period: tuple[date, date], note: str) -> dict:
    cells = table["cells"]
    rows = [{"code": code, "label": label,
             "values": [len(cells[(code, column)].ids) for column, _ in table["columns"]],
             "sources": [sorted(cells[(code, column)].ids) for column, _ in table["columns"]]}
            for code, label in table["rows"]]
    return {"form": table["form"], "title": title, "period": [period[0].isoformat(), period[1].isoformat()],
            "columns": [{"code": code, "label": label} for code, label in table["columns"]], "rows": rows,
            "left_out": note}


def awarded(case: dict) -> bool:
    """The head's decision made the case an award, and it stands (not revoked)."""
    decision = case.get("decision") or {}
    return bool(decision.get("date")) and not decision.get("revoked")


def decision_year(case: dict) -> int | None:
    """The reporting year of the case's decision (its date, a Vietnam calendar day), or None."""
    try:
        return reporting_year_of(date.fromisoformat(str((case.get("decision") or {}).get("date") or "")))
    except ValueError:
        return None


def form_0603(cases: list[dict], award_names: dict, kinds: dict, period) -> dict:
    """Ministry-level awards decided in the period: total, collectives, individuals (direct workers),
    and the total by kind. ``kinds[code]`` is the award's kind in its rule set."""
    columns = [("total", "Tổng số"), ("collective", "Tập thể"), ("individual", "Cá nhân"),
               ("direct_worker", "Trong đó: người lao động trực tiếp")] + \
              [(f"kind:{kind}", KIND_NAMES[kind]) for kind in KINDS if kind not in ("doi_ngoai", "nien_han")]
    rows = [(code, award_names[code]) for code in MINISTRY_LEVEL] + [("ALL", "Cộng")]
    table = _table("0603.N", columns, rows)
    for case in cases:
        if case["award_code"] not in MINISTRY_LEVEL or not awarded(case):
            continue
        for row in (case["award_code"], "ALL"):
            _count(table, row, case, kinds.get(case["nomination_id"]))
    return _finish(table, "Biểu 0603.N/BNV-TĐKT: Kết quả khen thưởng cấp Bộ", period, LEFT_OUT_COLUMNS["0603.N"])


def _count(table, row, case, kind):
    cells, nid, nominee = table["cells"], case["nomination_id"], case["nominee"]
    cells[(row, "total")].add(nid)
    individual = nominee.get("kind") == "individual"
    cells[(row, "individual" if individual else "collective")].add(nid)
    if individual and nominee.get("direct_worker") and (row, "direct_worker") in cells:
        cells[(row, "direct_worker")].add(nid)
    if kind and (row, f"kind:{kind}") in cells:
        cells[(row, f"kind:{kind}")].add(nid)


def form_0602(cases: list[dict], award_names: dict, period) -> dict:
    """State-level awards: what the ministry council proposed to the central level in the period, and
    what it did not, collectives and individuals."""
    columns = [("proposed", "Số đã trình cấp trên"), ("proposed_collective", "Trình: tập thể"),
               ("proposed_individual", "Trình: cá nhân"), ("awarded", "Đã được cấp trên khen thưởng"),
               ("rejected", "Không được đề nghị (hội đồng không thông qua)")]
    rows = [(code, award_names[code]) for code in STATE_LEVEL] + [("ALL", "Cộng")]
    table = _table("0602.N", columns, rows)
    cells = table["cells"]
    for case in cases:
        if case["award_code"] not in STATE_LEVEL or case["outcome"] not in ("proposed", "rejected"):
            continue
        for row in (case["award_code"], "ALL"):
            if case["outcome"] == "rejected":
                cells[(row, "rejected")].add(case["nomination_id"])
                continue
            cells[(row, "proposed")].add(case["nomination_id"])
            who = "individual" if case["nominee"].get("kind") == "individual" else "collective"
            cells[(row, f"proposed_{who}")].add(case["nomination_id"])
            if awarded(case):
                cells[(row, "awarded")].add(case["nomination_id"])
    return _finish(table, "Biểu 0602.N/BNV-TĐKT: Khen thưởng cấp Nhà nước", period, LEFT_OUT_COLUMNS["0602.N"])


def forms(year: int, cases: list[dict], award_names: dict, kinds: dict) -> dict:
    """Every form the data can fill for reporting year ``year`` (``cases``: those the council decided in
    it, and those whose head's decision may be dated in it)."""
    period = reporting_period(year)
    outcomes = [case for case in cases if case.get("decided_at") and reporting_year(case["decided_at"]) == year]
    decisions = [case for case in cases if decision_year(case) == year]
    return {"year": year, "period": [period[0].isoformat(), period[1].isoformat()],
            "forms": [form_0602(outcomes, award_names, period), form_0603(decisions, award_names, kinds, period)],
            "left_out": [{"form": name, "why": why} for name, why in LEFT_OUT.items()]}
