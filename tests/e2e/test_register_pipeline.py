"""Over RabbitMQ, three processes: a CSTDCS approved by the unit council and decided by the head becomes
the register entry that a later CSTD_BO nomination relies on, with no title typed by the unit for that
year; the decision is recorded from the shell (``tdkt decision record``) and mailed to unit and nominee."""
import copy
import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from email.utils import parseaddr

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.contract.errors import Ineligible
from shared.platform.config import LOCAL_ADMIN_TOKEN
from shared.platform.messaging import EventPublisher
from tests.e2e.test_first_thread import issue_token
from tests.harness import wait_until
from tests.integration.delivery import Tap
from tests.integration.review_support import directory

pytestmark = pytest.mark.e2e
EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "deploy/examples/nomination.json").read_text("utf-8"))
CERTIFICATE = {"kind": "xac_nhan_sang_kien", "filename": "sk.pdf", "sha256": "b" * 64, "size": 2048}


def cstd_bo_2026(employee_id):
    """CSTD_BO for 2026: CSTDCS typed for 2024 only; the 2025 row claims no title."""
    body = {**copy.deepcopy(EXAMPLE), "submission_key": f"bo-{employee_id}", "award_code": "CSTD_BO",
            "award_year": 2026, "documents": [*EXAMPLE["documents"], CERTIFICATE], "history": [
                {"year": 2024, "rating": "HTXSNV", "titles": ["CSTDCS"]},
                {"year": 2025, "rating": "HTXSNV"},
                {"year": 2026, "rating": "HTXSNV", "initiatives": [
                    {"id": f"SK-{employee_id}", "title": "Bản đồ số đất đai", "scope": "bo"}]}]}
    body["nominee"] = {**body["nominee"], "employee_id": employee_id}
    return body


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_decided_cstdcs_is_the_register_entry_a_later_cstd_bo_relies_on(system, rabbit_config, mail_sink):
    amqp = rabbit_config["AMQP_URI"]
    ballots = Tap(amqp, "review", "ballot_issued")
    council = EventPublisher(amqp, "council")
    token = issue_token(system.env, "vp")
    cstdcs = {**copy.deepcopy(EXAMPLE), "submission_key": "cs-2025", "award_code": "CSTDCS"}
    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": token}, timeout=30) as unit, \
            ClusterRpcProxy(rabbit_config, context_data={"auth_token": LOCAL_ADMIN_TOKEN}, timeout=30) as op:
        op.review.load_directory(directory())
        with pytest.raises(Ineligible) as before:  # nothing typed for 2025, nothing in the register yet
            unit.intake.submit_nomination(cstd_bo_2026("VP-0042"))
        assert "cstdcs_three_years" in [u["code"] for u in before.value.detail]

        cs_id = unit.intake.submit_nomination(cstdcs)["nomination_id"]
        wait_until(lambda: _case(op, cs_id), what="review to record the CSTDCS")
        sitting = op.review.convene_sitting("hd-vp", (datetime.now(timezone.utc) + timedelta(days=2)).isoformat())
        issued = wait_until(lambda: _ballots(ballots, sitting["sitting_id"], 7), what="7 ballots")
        for ballot in issued:
            council("vote_cast", {"ballot_token": ballot["ballot_token"], "choices": {cs_id: "approve"}},
                    str(uuid.uuid4()), {})
        wait_until(lambda: unit.intake.get_nomination(cs_id)["status"] == "approved", what="CSTDCS approved")

        tdkt = str(Path(sys.executable).parent / "tdkt")
        recorded = subprocess.run([tdkt, "decision", "record", "--number", "123/QĐ-VP", "--date", "2025-12-20",
                                   "--signer", "Chánh Văn phòng Bộ", cs_id], env=system.env,
                                  capture_output=True, text=True, timeout=60)
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
        assert unit.intake.get_nomination(cs_id)["status"] == "awarded"
        wait_until(lambda: (_case(op, cs_id) or {}).get("decision"), what="review to follow the decision")

        receipt = unit.intake.submit_nomination(cstd_bo_2026("VP-0042"))  # the register holds 2025 now
        assert receipt["status"] == "submitted"
        with pytest.raises(Ineligible):  # another person with the same typed history has no such entry
            unit.intake.submit_nomination(cstd_bo_2026("VP-0099"))
        [entry] = op.intake.register_show({"unit_id": "vp", "employee_id": "VP-0042"})
        assert (entry["award_code"], entry["award_year"], entry["decision"]["number"], entry["money"]) == (
            "CSTDCS", 2025, "123/QĐ-VP", 2_340_000)
        shown = subprocess.run([tdkt, "register", "show", "--unit", "vp", "--csv"], env=system.env,
                               capture_output=True, text=True, timeout=60)
        assert shown.stdout.startswith("\ufeff") and "123/QĐ-VP" in shown.stdout
    ballots.close()

    # acknowledgements (2), 7 invitations, the decided outcome and the award to unit and nominee (2 + 2)
    mails = mail_sink.wait_for(13, timeout=60)
    awarded = [m for m in mails if "Quyết định khen thưởng 123/QĐ-VP" in m["Subject"]]
    assert sorted(parseaddr(m["To"])[1] for m in awarded) == ["hoa.nt@example.vn", "vanphong@example.vn"]
    assert "2.340.000 đồng" in awarded[0].get_body(("plain",)).get_content()


def _ballots(tap, sitting_id, size, seen=[]):  # noqa: B006 - accumulates across polls
    seen.extend(json.loads(m.body) for m in tap.get_all())
    mine = [b for b in seen if b["sitting_id"] == sitting_id]
    return mine if len(mine) >= size else None


def _case(proxy, nomination_id):
    from shared.contract.errors import NotFound

    try:
        return proxy.review.get_case(nomination_id)
    except NotFound:
        return None
