"""Over RabbitMQ, three processes: a unit's CSTDCS and CSTD_BO nominations go through its council, the
CSTD_BO advances to the ministry council and is decided there, and intake's statuses follow."""
import copy
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.contract.ballots import sealed_vote
from shared.platform.config import LOCAL_ADMIN_TOKEN
from shared.platform.messaging import EventPublisher
from tests.e2e.test_first_thread import issue_token
from tests.harness import wait_until
from tests.integration.delivery import Tap
from tests.integration.review_support import directory

pytestmark = pytest.mark.e2e
EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "deploy/examples/nomination.json").read_text("utf-8"))
CERTIFICATE = {"kind": "xac_nhan_sang_kien", "filename": "sk.pdf", "sha256": "b" * 64, "size": 2048}


def nominations():
    cstdcs = {**copy.deepcopy(EXAMPLE), "submission_key": "vp-cs", "award_code": "CSTDCS"}
    cstd_bo = {**copy.deepcopy(EXAMPLE), "submission_key": "vp-bo", "award_code": "CSTD_BO",
               "documents": [*EXAMPLE["documents"], CERTIFICATE], "history": [
                   {"year": 2023, "rating": "HTXSNV", "titles": ["CSTDCS"]},
                   {"year": 2024, "rating": "HTXSNV", "titles": ["CSTDCS"]},
                   {"year": 2025, "rating": "HTXSNV", "initiatives": [
                       {"id": "SK-2025-1", "title": "Bản đồ số đất đai", "scope": "bo"}]}]}
    cstd_bo["nominee"] = {**cstd_bo["nominee"], "full_name": "Lê Văn Nam", "employee_id": "VP-0007",
                          "gender": "male"}
    return cstdcs, cstd_bo


def status(proxy, nomination_id):
    return proxy.intake.get_nomination(nomination_id)["status"]


def test_a_ministry_award_goes_through_both_councils_and_intake_follows(system, rabbit_config, mail_sink):
    amqp = rabbit_config["AMQP_URI"]
    ballots = Tap(amqp, "review", "ballot_issued")
    council = EventPublisher(amqp, "council")
    deadline = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()

    received = []

    def vote_in(sitting_id, size, choices_for):
        def issued():
            received.extend(json.loads(m.body) for m in ballots.get_all())
            mine = [b for b in received if b["sitting_id"] == sitting_id]
            return len(mine) >= size and mine

        for ballot in wait_until(issued, what=f"{size} ballots"):
            council("vote_cast", sealed_vote(ballot["ballot_token"], ballot["public_key"],
                                             choices_for(ballot["member"]["id"])), str(uuid.uuid4()), {})

    token = issue_token(system.env, "vp")
    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": token}, timeout=30) as unit, \
            ClusterRpcProxy(rabbit_config, context_data={"auth_token": LOCAL_ADMIN_TOKEN}, timeout=30) as op:
        op.review.load_directory(directory())
        cs_id, bo_id = (unit.intake.submit_nomination(n)["nomination_id"] for n in nominations())
        wait_until(lambda: _waiting(op, cs_id) and _waiting(op, bo_id), what="review to record both")

        unit_sitting = op.review.convene_sitting("hd-vp", deadline)
        assert sorted(unit_sitting["agenda"]) == sorted([cs_id, bo_id])
        vote_in(unit_sitting["sitting_id"], 7, lambda member: {cs_id: "approve", bo_id: "approve"})
        wait_until(lambda: status(unit, cs_id) == "approved", what="CSTDCS approved")
        advanced = wait_until(lambda: (lambda n: n["stage"] == "ministry" and n)(unit.intake.get_nomination(bo_id)),
                              what="CSTD_BO advanced to the ministry's council")
        assert advanced["status"] == "in_review"

        ministry_sitting = op.review.convene_sitting("hd-bo", {"working_days": 2})
        assert ministry_sitting["agenda"] == [bo_id]
        vote_in(ministry_sitting["sitting_id"], 15,
                lambda member: {bo_id: "reject" if member == "m-bo-15" else "approve"})  # 14/15 >= 90 %
        wait_until(lambda: status(unit, bo_id) == "approved", what="CSTD_BO approved")
        history = unit.intake.get_nomination(bo_id)["history"]
        assert [(entry["status"], entry.get("event")) for entry in history] == [
            ("submitted", None), ("in_review", "nomination_on_agenda"), ("in_review", "nomination_advanced"),
            ("in_review", "nomination_on_agenda"), ("approved", "nomination_decided")]
        assert (history[-1]["stage"], unit.intake.get_nomination(bo_id)["award_code"]) == ("ministry", "CSTD_BO")
        assert history[-1]["tally"] == {"approve": 14, "reject": 1, "abstain": 0, "members": 15, "required": 14}
    ballots.close()

    # 2 acknowledgements, 7 + 15 invitations, as many receipts and lists of receipts, advanced and 2
    # decisions to the nominee, and one mail per sitting to the unit (issue #14)
    mails = mail_sink.wait_for(2 + 3 * 22 + 3 + 2, timeout=60)
    invitations = [m for m in mails if "Phiếu bầu" in m["Subject"] and "Biên nhận" not in m["Subject"]]
    assert len(invitations) == 22
    assert all("tdkt vote --token " in m.get_body(("plain",)).get_content() for m in invitations)
    assert all(" --key " in m.get_body(("plain",)).get_content() for m in invitations)
    assert sum("Biên nhận phiếu bầu" in m["Subject"] for m in mails) == 22
    assert sum("Danh sách biên nhận" in m["Subject"] for m in mails) == 22
    to_nominee = [m["Subject"] for m in mails if m["To"].addresses[0].addr_spec == "hoa.nt@example.vn"]
    assert len(to_nominee) == 3 and len(mails) == 2 + 3 * 22 + 3 + 2
    to_unit = [m for m in mails if "Kết quả phiên họp" in m["Subject"]]
    assert len(to_unit) == 2 and all("Văn phòng Bộ" in m["Subject"] for m in to_unit)


def _waiting(proxy, nomination_id):
    from shared.contract.errors import NotFound

    try:
        return proxy.review.get_case(nomination_id)["state"] == "waiting"
    except NotFound:
        return False
