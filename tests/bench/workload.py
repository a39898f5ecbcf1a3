"""What the benchmark asks of the system: a ministry's directory and a year of nominations.

Each unit's council has 7 members, the ministry council 15. A tenth of each unit's nominations are
CSTD_BO (eligible, approved by the unit council, so they advance to the ministry council); the rest
are LDTT and CSTDCS, of which about one in eight gets only 3 approvals of 7 and is not proposed.
"""
from __future__ import annotations

import copy
import json

from shared.devtools.demo import EXAMPLE as EXAMPLE_FILE, as_cstd_bo

EXAMPLE = json.loads(EXAMPLE_FILE.read_text("utf-8"))  # read once: the run builds thousands
UNIT_MEMBERS, MINISTRY_MEMBERS = 7, 15
MINISTRY_COUNCIL = "hd-bo"


def unit_ids(units: int) -> list[str]:
    return [f"dv{number:03d}" for number in range(1, units + 1)]


def directory(units: int) -> dict:
    """The units, a council of 7 per unit and the ministry council of 15."""
    def members(council, count):
        return [{"id": f"{council}-m{n}", "name": f"Thành viên {n}", "email": f"m{n}.{council}@example.vn",
                 "role": "chair" if n == 1 else "member"} for n in range(1, count + 1)]
    ids = unit_ids(units)
    return {"units": [{"id": "bo", "name": "Bộ"}, *({"id": u, "name": f"Đơn vị {u}", "parent": "bo"} for u in ids)],
            "councils": [{"id": MINISTRY_COUNCIL, "name": "Hội đồng TĐKT Bộ", "level": "ministry", "unit": "bo",
                          "members": members(MINISTRY_COUNCIL, MINISTRY_MEMBERS)},
                         *({"id": f"hd-{u}", "name": f"Hội đồng TĐKT {u}", "level": "unit", "unit": u,
                            "members": members(f"hd-{u}", UNIT_MEMBERS)} for u in ids)]}


def award_of(number: int) -> str:
    return "CSTD_BO" if number % 10 == 0 else ("CSTDCS" if number % 10 == 1 else "LDTT")


def nominations(unit_id: str, count: int) -> list[dict]:
    """``count`` distinct, eligible nominations of one unit (each nominee a different person)."""
    batch = []
    for number in range(count):
        nomination = copy.deepcopy(EXAMPLE)
        award = award_of(number)
        nomination["nominee"].update(full_name=f"Cán bộ {unit_id} {number}", employee_id=f"{unit_id}-{number:04d}",
                                     gender="female" if number % 2 else "male",
                                     email=f"cb{number}.{unit_id}@example.vn")
        nomination.update(submission_key=f"bench-{unit_id}-{number}", award_code=award,
                          contact_email=f"tdkt.{unit_id}@example.vn")
        if award == "CSTD_BO":  # each nominee's own initiative: one achievement backs one award
            as_cstd_bo(nomination, f"SK-{unit_id}-{number}")
        batch.append(nomination)
    return batch


def choice(item: dict, member_id: str) -> str:
    """A member's mark on one agenda item: CSTD_BO always approved; about one other item in eight
    rejected by members 1 to 4 (3 approvals of 7, below the threshold)."""
    doubtful = item["award_code"] != "CSTD_BO" and int(item["nomination_id"][:6], 16) % 8 == 0
    member = int(member_id.rsplit("-m", 1)[1])
    return "reject" if doubtful and member <= 4 else "approve"
