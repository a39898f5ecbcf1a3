"""The register's events, each delivered twice, have one effect: review returns a case once after a
revocation and keeps a decision once; notify mails each recipient of an award or a revocation once."""
from datetime import datetime, timezone
from email.utils import parseaddr

import pytest
import sqlalchemy as sa
from nameko.testing.services import entrypoint_waiter

from services.notify.service import NotifyService
from services.review.models import cases
from shared.platform.messaging import EventPublisher
from tests.integration.review_support import submitted

ENTRY = {"entry_id": "e-1", "unit_id": "vp", "nominee_kind": "individual", "employee_id": "VP-0042",
         "nominee_name": "Nguyễn Thị Hoa", "award_code": "CSTDCS", "award_year": 2025,
         "decision": {"number": "88/QĐ-VP", "date": "2025-12-15", "signer": "Trần Văn Bình"}, "money": 2_340_000,
         "state": "revoked", "source": "decision", "nomination_id": "n-old",
         "contact_email": "vanphong@example.vn", "nominee_email": "hoa.nt@example.vn"}
REVOKED = {"entry": ENTRY, "ground": "a", "revocation": {"number": "5/QĐ-VP", "date": "2026-12-01", "signer": None},
           "reason": "Khai man thành tích", "money_to_recover": 2_340_000, "operator": "abc123",
           "affected": [{"nomination_id": "n-live", "reasons": ["Khen thưởng CSTDCS năm 2025 đã bị hủy bỏ"]}]}
AWARDED = {"nomination_id": "n-awd", "entry_id": "e-2", "unit_id": "vp", "award_code": "LDTT", "award_year": 2025,
           "nominee_name": "Nguyễn Thị Hoa", "decision": {"number": "123/QĐ-VP", "date": "2025-12-20",
                                                         "signer": "Chánh Văn phòng"},
           "money": 710_000, "contact_email": "vanphong@example.vn", "nominee_email": "hoa.nt@example.vn"}


def deliver_twice(container, rabbit_config, handler, event_type, payload, message_id):
    publish = EventPublisher(rabbit_config["AMQP_URI"], "intake")
    for _ in range(2):
        with entrypoint_waiter(container, handler, timeout=15):
            publish(event_type, payload, message_id, {})


def test_a_revocation_delivered_twice_returns_the_case_once(review, rabbit_config):
    review.submit(submitted("n-live", "CSTD_BO"))
    deliver_twice(review.container, rabbit_config, "on_register_entry_revoked", "register_entry_revoked",
                  REVOKED, "revoked-1")
    case = review.call("get_case", "n-live")
    assert case["state"] == "returned" and case["register_notes"][-1]["code"] == "register_entry_revoked"
    returned = [e for e in review.events("nomination_returned") if e["nomination_id"] == "n-live"]
    assert len(returned) == 1 and returned[0]["reasons"] == REVOKED["affected"][0]["reasons"]


def test_an_award_delivered_twice_is_kept_once_on_the_case(review, rabbit_config):
    review.submit(submitted("n-awd", "LDTT"))
    deliver_twice(review.container, rabbit_config, "on_nomination_awarded", "nomination_awarded", AWARDED, "awd-1")
    assert review.call("get_case", "n-awd")["decision"]["number"] == "123/QĐ-VP"


@pytest.mark.parametrize("handler, event_type, payload, subject", [
    ("on_nomination_awarded", "nomination_awarded", AWARDED, "Quyết định khen thưởng 123/QĐ-VP"),
    ("on_register_entry_revoked", "register_entry_revoked", REVOKED, "Hủy bỏ quyết định khen thưởng")])
def test_notify_mails_each_recipient_of_a_register_event_once(container_factory, rabbit_config, service_env,
                                                               mail_sink, handler, event_type, payload, subject):
    notify = container_factory(NotifyService, rabbit_config)
    notify.start()
    deliver_twice(notify, rabbit_config, handler, event_type, payload, f"{event_type}-1")
    mails = mail_sink.wait_for(2)
    assert sorted(parseaddr(m["To"])[1] for m in mails) == ["hoa.nt@example.vn", "vanphong@example.vn"]
    assert all(subject in m["Subject"] for m in mails) and len({m["Message-ID"] for m in mails}) == 2
    text = mails[0].get_body(("plain",)).get_content()
    assert "English:" in text and ("2.340.000 đồng" in text or "710.000 đồng" in text)


def test_a_revoked_award_keeps_its_decision_marked_revoked_and_leaves_the_statistics(review, rabbit_config,
                                                                                     service_env):
    """Law Art. 93: a cancelled decision is no award; form 0603.N counts the head's decisions that stand."""
    review.submit(submitted("n-awd", "BK_BO"))
    engine = sa.create_engine(service_env["REVIEW_DB_URL"])
    with engine.begin() as connection:  # the ministry council approved it on 10/11/2025
        connection.execute(sa.update(cases).where(cases.c.nomination_id == "n-awd").values(
            state="decided", outcome="approved", decided_at=datetime(2025, 11, 10, 3, tzinfo=timezone.utc)))
    engine.dispose()
    awarded = {**AWARDED, "award_code": "BK_BO", "decision": {**AWARDED["decision"], "date": "2025-11-20"}}
    deliver_twice(review.container, rabbit_config, "on_nomination_awarded", "nomination_awarded", awarded, "awd-2")

    def counted():
        form = next(f for f in review.call("statistics_forms", 2025)["forms"] if f["form"] == "0603.N")
        return next(r for r in form["rows"] if r["code"] == "BK_BO")["sources"][0]

    assert counted() == ["n-awd"]  # decided (by the head) on 20/11/2025: reporting year 2025
    revoked = {**REVOKED, "entry": {**ENTRY, "entry_id": "e-2", "award_code": "BK_BO", "nomination_id": "n-awd"},
               "affected": []}
    deliver_twice(review.container, rabbit_config, "on_register_entry_revoked", "register_entry_revoked",
                  revoked, "revoked-2")
    case = review.call("get_case", "n-awd")
    assert case["decision"]["number"] == "123/QĐ-VP" and case["decision"]["revoked"]["number"] == "5/QĐ-VP"
    assert counted() == []


def test_a_revocation_that_arrives_before_its_award_still_leaves_the_statistics(review, rabbit_config,
                                                                                 service_env):
    """Intake's two events reach review through separate handlers (a retried one arrives late): the award
    learnt after its revocation is still no award in form 0603.N."""
    review.submit(submitted("n-late", "BK_BO"))
    engine = sa.create_engine(service_env["REVIEW_DB_URL"])
    with engine.begin() as connection:
        connection.execute(sa.update(cases).where(cases.c.nomination_id == "n-late").values(
            state="decided", outcome="approved", decided_at=datetime(2025, 11, 10, 3, tzinfo=timezone.utc)))
    engine.dispose()
    revoked = {**REVOKED, "entry": {**ENTRY, "entry_id": "e-3", "award_code": "BK_BO", "nomination_id": "n-late"},
               "affected": []}
    deliver_twice(review.container, rabbit_config, "on_register_entry_revoked", "register_entry_revoked",
                  revoked, "revoked-3")
    awarded = {**AWARDED, "nomination_id": "n-late", "entry_id": "e-3", "award_code": "BK_BO",
               "decision": {**AWARDED["decision"], "date": "2025-11-20"}}
    deliver_twice(review.container, rabbit_config, "on_nomination_awarded", "nomination_awarded", awarded, "awd-3")
    case = review.call("get_case", "n-late")
    assert case["decision"]["number"] == "123/QĐ-VP" and case["decision"]["revoked"]["number"] == "5/QĐ-VP"
    form = next(f for f in review.call("statistics_forms", 2025)["forms"] if f["form"] == "0603.N")
    assert next(r for r in form["rows"] if r["code"] == "BK_BO")["sources"][0] == []
