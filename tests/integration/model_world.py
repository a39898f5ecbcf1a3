"""The lifecycle model's data: a unit and a ministry council of three, three people of unit ``vp`` whose
histories give each year one initiative, and what "intake and review agree" means (README, review:
"Lifecycle: who may change what, when")."""
from __future__ import annotations

import unicodedata

PERSONS = ("VP-1", "VP-2", "VP-3")
NAMES = {"VP-1": ("Nguyễn Thị Hoa", "female"), "VP-2": ("Trần Văn Nam", "male"), "VP-3": ("Lê Văn Bình", "male")}
AWARDS = ("LDTT", "CSTDCS", "BK_BO")  # unit (majority), unit (4/5), unit then ministry
YEARS = (2024, 2025)
COUNCILS = {"hd-vp": ("unit", "vp"), "hd-bo": ("ministry", "bo")}
DOCUMENTS = [{"kind": kind, "filename": f"{kind}.pdf", "sha256": "ab" * 32, "size": 1000}
             for kind in ("to_trinh", "bao_cao_thanh_tich", "bien_ban", "xac_nhan_sang_kien")]


def directory() -> dict:
    def council(council_id, level, unit):
        return {"id": council_id, "name": f"Hội đồng {unit}", "level": level, "unit": unit, "members": [
            {"id": f"m-{unit}-{n}", "name": f"Thành viên {n}", "email": f"m{n}.{unit}@example.vn",
             "role": "chair" if n == 1 else "member"} for n in range(1, 4)]}

    return {"units": [{"id": "bo", "name": "Bộ"}, {"id": "vp", "name": "Văn phòng Bộ", "parent": "bo"}],
            "councils": [council(council_id, level, unit) for council_id, (level, unit) in COUNCILS.items()]}


def body_of(key: str, person: str, award: str, year: int, excellent: bool) -> dict:
    """A dossier of ``person``: rated excellent (HTXSNV) or good (HTTNV) each year, one initiative a year.
    A good CSTDCS relies on the award year's initiative, an excellent BK_BO on the last two years' (so
    they compete for one); LDTT relies on none; a good BK_BO is ineligible."""
    name, gender = NAMES[person]
    history = [{"year": y, "rating": "HTXSNV" if excellent else "HTTNV", "titles": [], "disciplined": False,
                "initiatives": [{"id": f"SK-{person}-{y}", "title": "Sáng kiến", "scope": "co_so"}]}
               for y in range(year - 2, year + 1)]
    return {"submission_key": key, "award_code": award, "award_year": year,
            "nominee": {"kind": "individual", "full_name": name, "employee_id": person, "gender": gender,
                        "email": f"{person.lower()}@example.vn"},
            "achievements": "Hoàn thành xuất sắc nhiệm vụ.", "history": history, "documents": DOCUMENTS,
            "contact_email": "vanphong@example.vn"}


def respelled(body: dict) -> dict:
    """The same nomination typed again: the name in NFD with a trailing newline, the ids in lower case."""
    nominee = body["nominee"]
    history = [{**row, "initiatives": [{**i, "id": i["id"].lower()} for i in row["initiatives"]]}
               for row in body["history"]]
    return {**body, "history": history, "nominee": {
        **nominee, "full_name": unicodedata.normalize("NFD", nominee["full_name"]) + "\n",
        "employee_id": nominee["employee_id"].lower()}}


# intake's status -> the case states review may be in (README's lifecycle table)
STATES = {"submitted": {("waiting", False)}, "in_review": {("waiting", False), ("waiting", True),
                                                           ("on_agenda", True)},
          "returned": {("returned", True), ("returned", False)}}


def agree(nomination: dict, case: dict | None) -> str | None:
    """None when review's case tells what intake's nomination tells; otherwise what differs. A withdrawn
    dossier is compared by state only: it is never considered again, whichever revision was withdrawn."""
    if case is None:
        return "review has no case of a nomination whose events were all delivered"
    status, state = nomination["status"], case["state"]
    if status in ("approved", "proposed", "rejected"):
        if (state, case["outcome"]) != ("decided", status):
            return f"intake says {status}, review says {state} ({case['outcome']})"
    elif status == "withdrawn":
        return None if state == "withdrawn" else f"intake says withdrawn, review says {state}"
    elif (state, bool(case["considered"])) not in STATES[status]:
        return f"intake says {status}, review says {state} (considered: {bool(case['considered'])})"
    ours = {k: nomination[k] for k in ("stage", "award_code", "award_year", "revision")}
    theirs = {k: case[k] for k in ("stage", "award_code", "award_year", "revision")}
    return None if ours == theirs else f"intake holds {ours}, review holds {theirs}"
