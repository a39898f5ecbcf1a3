"""``tdkt demo``: a year-end round against a running system, as the people would do it.

Loads the sample directory, gives each unit a token, submits every unit's nominations, convenes each
unit council, casts every member's vote with the token of the ballot review issued (sealed to the
sitting's public key), then does the same
at the ministry council for what advanced, and waits for the outcome mail.
"""
from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path

from kombu import Connection, Queue

from shared.contract.ballots import sealed_vote
from shared.platform.client import event_publisher
from shared.platform.messaging import event_exchange

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "examples" / "nomination.json"
CERTIFICATE = {"kind": "xac_nhan_sang_kien", "filename": "sang-kien.pdf", "sha256": "c" * 64, "size": 4096}
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi")
POSITIONS = ("Chuyên viên", "Chuyên viên chính", "Phó Trưởng phòng", "Trưởng phòng")
GIVEN = ("Thị Hoa", "Văn Nam", "Thị Lan", "Minh Tuấn", "Thu Hương", "Quốc Bảo", "Ngọc Anh", "Đức Thắng")


def as_cstd_bo(nomination: dict, initiative_id: str) -> dict:
    """Make ``nomination`` an eligible CSTD_BO: CSTDCS the two years before, and a ministry-level
    initiative (with its certificate) in the award year."""
    nomination["documents"].append(CERTIFICATE)
    nomination["history"] = [
        {"year": 2023, "rating": "HTXSNV", "titles": ["CSTDCS"]},
        {"year": 2024, "rating": "HTXSNV", "titles": ["CSTDCS"]},
        {"year": 2025, "rating": "HTXSNV", "initiatives": [
            {"id": initiative_id, "title": "Số hoá quy trình", "scope": "bo"}]}]
    return nomination


def as_bk_ttg(nomination: dict) -> dict:
    """Make ``nomination`` an eligible BK_TTG (Law Art. 73.1.b): BK_BO in 2019, then five good years
    with three CSTDCS. The ministry council proposes it to the Prime Minister, so the ministry sitting
    has a proposal letter (tờ trình) among its documents."""
    good = [{"year": y, "rating": "HTXSNV" if y % 2 else "HTTNV", "titles": ["CSTDCS"] if y in (2021, 2022, 2023)
             else []} for y in range(2020, 2025)]
    nomination["history"] = [{"year": 2019, "rating": "HTXSNV", "titles": ["BK_BO"]}, *good,
                             {"year": 2025, "rating": "HTXSNV"}]
    return nomination


def nominations_for(unit: dict, count: int) -> list[dict]:
    """``count`` nominations of a unit: LDTT and CSTDCS mostly, one CSTD_BO that goes to the ministry
    and (with three or more) one BK_TTG that the ministry proposes to the Prime Minister."""
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    batch = []
    for number in range(count):
        nomination = copy.deepcopy(example)
        award = "CSTD_BO" if number == 0 else "BK_TTG" if number == 2 else ("CSTDCS" if number % 3 == 1 else "LDTT")
        nominee = nomination["nominee"]
        nominee.update(full_name=f"{SURNAMES[number % 8]} {GIVEN[(number + len(unit['id'])) % 8]}",
                       employee_id=f"{unit['id']}-{number:03d}", gender="female" if number % 2 else "male",
                       email=f"{unit['id']}.{number}@example.vn", position=POSITIONS[number % 4])
        nomination.update(submission_key=f"demo-{unit['id']}-{number}", award_code=award,
                          contact_email=unit["email"])
        if award == "CSTD_BO":
            as_cstd_bo(nomination, f"SK-{unit['id']}")
        elif award == "BK_TTG":
            as_bk_ttg(nomination)
        batch.append(nomination)
    return batch


def choice(item: dict, member_id: str) -> str:
    """Councils approve most; about one unit-level nomination in six gets too few approvals (the
    CSTD_BO and BK_TTG nominations always pass, so the ministry council has work)."""
    doubtful = item["award_code"] not in ("CSTD_BO", "BK_TTG") and int(item["nomination_id"][:6], 16) % 6 == 0
    return "reject" if doubtful and member_id.rsplit("-", 1)[-1] in ("1", "2", "3", "4", "5") else "approve"


class BallotBox:
    """A private queue on review's ``ballot_issued`` events, as a member's mail client would see them."""

    def __init__(self, amqp_uri: str):
        self.connection = Connection(amqp_uri)
        self.queue = Queue(f"demo-ballots-{uuid.uuid4().hex[:8]}", exchange=event_exchange("review", passive=True),
                           routing_key="ballot_issued", exclusive=True)
        self.queue(self.connection.default_channel).declare()
        self.council = event_publisher(amqp_uri, "council")

    def vote_all(self, sitting_id: str, members: int, timeout: float = 120.0, progress=None) -> int:
        """Cast every member's vote of ``sitting_id`` as their ballots arrive."""
        queue, cast, deadline = self.queue(self.connection.default_channel), set(), time.monotonic() + timeout
        while len(cast) < members and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            ballot = json.loads(message.body)
            if ballot["sitting_id"] != sitting_id:
                continue
            choices = {item["nomination_id"]: choice(item, ballot["member"]["id"])
                       for item in ballot["agenda"]}
            # sealed to the sitting's key before it leaves: the broker never holds a choice in clear
            self.council("vote_cast", sealed_vote(ballot["ballot_token"], ballot["public_key"], choices),
                         str(uuid.uuid4()), {})
            cast.add(ballot["member"]["id"])
            if progress:
                progress(1)
        return len(cast)

    def close(self):
        self.connection.release()
