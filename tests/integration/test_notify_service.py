"""Notify as a running container: each logical email once, however often its event arrives."""
import json
from email.utils import parseaddr

import pytest
from nameko.testing.services import entrypoint_waiter

from services.notify.service import NotifyService
from shared.platform.messaging import EventPublisher
from tests.harness import wait_until

DECIDED = {"nomination_id": "n-dec", "outcome": "approved", "stage": "unit",
           "tally": {"approve": 6, "reject": 1, "abstain": 0, "members": 7, "required": 6}, "reasons": [],
           "unit_id": "vp", "contact_email": "vanphong@example.vn", "nominee_email": "huong.pt@example.vn",
           "sitting_id": "s-1", "decided_at": "2025-12-01T10:00:00+07:00"}


@pytest.fixture
def notify(container_factory, rabbit_config, service_env, mail_sink):
    container = container_factory(NotifyService, rabbit_config)
    container.start()
    return container


CLOSED = {"sitting_id": "s-1", "council_id": "hd-vp", "council_name": "Hội đồng TĐKT Văn phòng Bộ", "stage": "unit",
          "quorum_met": True, "closed_at": "2025-12-01T10:00:00+07:00", "participants": 7, "units": ["vp"],
          "results": [{**{k: DECIDED[k] for k in ("nomination_id", "unit_id", "contact_email", "outcome", "reasons")},
                       **DECIDED["tally"], "award_code": "LDTT", "nominee_name": "Phạm Thu Hương",
                       "unit_name": "Văn phòng Bộ"}]}


def test_the_same_decision_and_close_delivered_three_times_mail_each_recipient_once(notify, rabbit_config,
                                                                                    mail_sink):
    publish = EventPublisher(rabbit_config["AMQP_URI"], "review")
    for _ in range(3):
        with entrypoint_waiter(notify, "on_nomination_decided", timeout=15):
            publish("nomination_decided", DECIDED, "decided-event-1", {})
        with entrypoint_waiter(notify, "on_sitting_closed", timeout=15):
            publish("sitting_closed", CLOSED, "closed-event-1", {})
    mails = mail_sink.wait_for(2)
    assert sorted(m["To"] for m in mails) == ["huong.pt@example.vn", "vanphong@example.vn"]
    assert len({m["Message-ID"] for m in mails}) == 2
    to_unit = next(m for m in mails if m["To"] == "vanphong@example.vn")
    assert "Kết quả phiên họp Hội đồng TĐKT Văn phòng Bộ ngày 01/12/2025" in to_unit["Subject"]
    assert "Phạm Thu Hương" in to_unit.get_body(("plain",)).get_content()
    with entrypoint_waiter(notify, "on_sitting_closed", timeout=15):  # a different event: new mail
        publish("sitting_closed", {**CLOSED, "sitting_id": "s-2"}, "closed-event-2", {})
    assert len(mail_sink.wait_for(3)) == 3


def test_the_operator_reads_the_delivery_log_without_the_bodies(notify, rabbit_config, mail_sink, monkeypatch):
    from click.testing import CliRunner

    from shared.cli.commands import main

    with entrypoint_waiter(notify, "on_nomination_decided", timeout=15):
        EventPublisher(rabbit_config["AMQP_URI"], "review")("nomination_decided", DECIDED, "decided-log", {})
    mail_sink.wait_for(1)
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    wait_until(lambda: CliRunner().invoke(main, ["mail", "log", "--status", "sent"]).output.count("sent") >= 1)
    result = CliRunner().invoke(main, ["mail", "log", "--csv"])
    assert result.exit_code == 0, result.output
    assert "huong.pt@example.vn" in result.output and "decided" in result.output
    assert "Kính gửi" not in result.output  # no bodies
    denied = CliRunner().invoke(main, ["mail", "log", "--token", "wrong-token-wrong-token"])
    assert denied.exit_code != 0 and "Chưa xác thực" in denied.output


def issue_ballot(notify, publish, sitting_id, member, deadline):
    """Review's ``ballot_issued`` for one member of a one-item sitting, waited for in notify."""
    with entrypoint_waiter(notify, "on_ballot_issued", timeout=15):
        publish("ballot_issued", {
            "sitting_id": sitting_id, "council_id": "hd-vp", "deadline": deadline, "ballot_token": f"tok-{member}",
            "member": {"id": member, "name": f"Thành viên {member}", "email": f"{member}@example.vn"},
            "agenda": [{"nomination_id": "n-1", "award_code": "LDTT", "nominee_name": "Hoa", "unit_id": "vp"}]},
            f"ballot-{sitting_id}-{member}", {})


def test_members_who_have_not_voted_are_reminded_once_before_the_deadline(container_factory, rabbit_config,
                                                                          service_env, mail_sink, monkeypatch,
                                                                          db_urls):
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa

    monkeypatch.setenv("TDKT_REMINDER_HOURS", "1")
    notify = container_factory(NotifyService, rabbit_config)
    notify.start()
    publish = EventPublisher(rabbit_config["AMQP_URI"], "review")
    deadline = (datetime.now(timezone.utc) + timedelta(minutes=30)).isoformat()
    for member in ("m-1", "m-2"):
        issue_ballot(notify, publish, "s-rem", member, deadline)
    with entrypoint_waiter(notify, "on_vote_counted", timeout=15):
        publish("vote_counted", {"sitting_id": "s-rem", "member_id": "m-1"}, "counted-m-1", {})

    mails = mail_sink.wait_for(3, timeout=30)  # two invitations, then one reminder
    reminders = [m for m in mails if "Nhắc" in m["Subject"]]
    assert [m["To"] for m in reminders] == ["Thành viên m-2 <m-2@example.vn>"]
    engine = sa.create_engine(db_urls["notify"])
    with engine.connect() as connection:
        assert dict(connection.execute(sa.text("SELECT member_id, reminded FROM ballots WHERE member_id != '*'"))
                    .all()) == {"m-1": False, "m-2": True}
    engine.dispose()


def test_a_vote_and_a_close_handled_before_their_ballots_still_count(container_factory, rabbit_config, service_env,
                                                                     mail_sink, db_urls):
    """The events travel on different queues: a fast member (or a busy notify) can see a vote counted,
    even the sitting closed, before the invitation is handled. No one is reminded afterwards."""
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa

    notify = container_factory(NotifyService, rabbit_config)
    notify.start()
    publish = EventPublisher(rabbit_config["AMQP_URI"], "review")
    with entrypoint_waiter(notify, "on_vote_counted", timeout=15):
        publish("vote_counted", {"sitting_id": "s-early", "member_id": "m-1"}, "counted-early-m-1", {})
    with entrypoint_waiter(notify, "on_sitting_closed", timeout=15):
        publish("sitting_closed", {"sitting_id": "s-early", "council_id": "hd-vp", "stage": "unit", "quorum_met": True,
                                   "closed_at": "2025-12-01T10:00:00+00:00", "participants": 1, "units": ["vp"],
                                   "results": []}, "closed-early", {})
    deadline = (datetime.now(timezone.utc) + timedelta(minutes=30)).isoformat()
    for member in ("m-1", "m-2"):
        issue_ballot(notify, publish, "s-early", member, deadline)

    engine = sa.create_engine(db_urls["notify"])
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT member_id, voted, closed, payload FROM ballots "
                                          "WHERE member_id != '*'")).all()
    engine.dispose()
    assert {(member, bool(voted), bool(closed)) for member, voted, closed, _ in rows} == {
        ("m-1", True, True), ("m-2", False, True)}
    payloads = [json.loads(payload) if isinstance(payload, str) else payload for *_, payload in rows]  # SQLite: text
    assert sorted(payload["ballot_token"] for payload in payloads) == ["tok-m-1", "tok-m-2"]


def test_a_sittings_minutes_reach_each_unit_once_as_a_pdf_attachment(notify, rabbit_config, mail_sink):
    import base64

    pdf = b"%PDF-1.4 minutes of the sitting"
    ready = {"sitting_id": "s-doc", "council_id": "hd-vp", "council_name": "Hội đồng TĐKT Văn phòng Bộ",
             "closed_at": "2025-12-03T09:30:00+00:00", "kinds": ["minutes", "decision"],
             "units": [{"unit_id": "vp", "name": "Văn phòng Bộ", "email": "vanphong@example.vn"},
                       {"unit_id": "x", "name": "Đơn vị không có địa chỉ", "email": None}],
             "minutes": {"filename": "bien-ban-s-doc.pdf", "content_type": "application/pdf",
                         "content_base64": base64.b64encode(pdf).decode()}}
    publish = EventPublisher(rabbit_config["AMQP_URI"], "review")
    for _ in range(2):  # delivered twice: one mail
        with entrypoint_waiter(notify, "on_sitting_documents_ready", timeout=15):
            publish("sitting_documents_ready", ready, "documents-ready-1", {})
    [mail] = mail_sink.wait_for(1)
    assert mail["To"].endswith("<vanphong@example.vn>") and mail.get_content_type() == "multipart/mixed"
    [attachment] = [part for part in mail.walk() if part.get_filename()]
    assert attachment.get_filename() == "bien-ban-s-doc.pdf" and attachment.get_payload(decode=True) == pdf
    body = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "Biên bản" in body or "biên bản" in body


def test_a_members_receipt_and_the_list_of_receipts_name_the_sitting_by_council_and_date(notify, rabbit_config,
                                                                                       mail_sink):
    """Issue #14: every mail names the sitting by its council and date; its id only on a reference line.
    The receipt events carry ids only, so notify names them from the sitting's ballots it keeps."""
    sitting_id = "3a7cfcaf" * 4
    publish = EventPublisher(rabbit_config["AMQP_URI"], "review")
    with entrypoint_waiter(notify, "on_ballot_issued", timeout=15):
        publish("ballot_issued", {
            "sitting_id": sitting_id, "council_id": "hd-vp", "council_name": "Hội đồng TĐKT Văn phòng Bộ",
            "convened_at": "2026-12-01T02:00:00+00:00", "deadline": "2026-12-05T10:00:00+00:00",
            "ballot_token": "tok-m-1", "member": {"id": "m-1", "name": "Thành viên 1", "email": "m-1@example.vn"},
            "agenda": [{"nomination_id": "n-1", "award_code": "LDTT", "nominee_name": "Hoa", "unit_id": "vp"}]},
            "ballot-named-m-1", {})
    with entrypoint_waiter(notify, "on_vote_counted", timeout=15):
        publish("vote_counted", {"sitting_id": sitting_id, "member_id": "m-1", "receipt": "7K3Q-M2ZD-XW4A-P9RT",
                                 "member": {"id": "m-1", "name": "Thành viên 1", "email": "m-1@example.vn"}},
                "counted-named-m-1", {})
    with entrypoint_waiter(notify, "on_receipts_published", timeout=15):
        publish("receipts_published", {"sitting_id": sitting_id, "council_id": "hd-vp", "ballots_counted": 1,
                                       "codes": ["7K3Q-M2ZD-XW4A-P9RT"],
                                       "members": [{"name": "Thành viên 1", "email": "m-1@example.vn"}]},
                "receipts-named", {})
    mails = [m for m in mail_sink.wait_for(3) if "biên nhận" in m["Subject"].lower()]
    assert len(mails) == 2
    for mail in mails:
        assert "Hội đồng TĐKT Văn phòng Bộ ngày 01/12/2026" in mail["Subject"] and sitting_id not in mail["Subject"]
        for body in (mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()):
            assert "Hội đồng TĐKT Văn phòng Bộ ngày 01/12/2026" in body and body.count(sitting_id) == 1
            assert "hd-vp" not in body.replace(sitting_id, "")


def test_mails_name_the_unit_from_the_directory_and_say_when_no_award_will_come(notify, rabbit_config, mail_sink):
    """The acknowledgement greets the unit by the name the directory gave (review's directory_loaded), not
    by its code, with the time the Vietnamese way; an approval closed without an award is told to the unit
    and the nominee with the reason."""
    from tests.integration.review_support import submitted

    review, intake = (EventPublisher(rabbit_config["AMQP_URI"], source) for source in ("review", "intake"))
    loaded = {"units": [{"id": "vp", "name": "Văn phòng Bộ"}, {"id": "tccb", "name": "Vụ Tổ chức cán bộ"}]}
    for _ in range(2):  # delivered twice: one effect
        with entrypoint_waiter(notify, "on_directory_loaded", timeout=15):
            review("directory_loaded", loaded, "directory-1", {})
    with entrypoint_waiter(notify, "on_nomination_submitted", timeout=15):
        intake("nomination_submitted", submitted("n-1", "LDTT"), "submitted-1", {})
    [ack] = mail_sink.wait_for(1)
    text = ack.get_body(("plain",)).get_content()
    assert text.startswith("Kính gửi Văn phòng Bộ,") and "đơn vị vp" not in text
    assert "15:00 ngày 20/11/2025" in text  # 08:00 UTC

    closed = {"nomination_id": "n-1", "unit_id": "tccb", "reason": "Thủ tướng không quyết định khen thưởng.",
              "award_code": "BK_TTG", "award_year": 2025, "nominee_name": "Người n-1",
              "contact_email": "tccb@example.vn", "nominee_email": "n-1@example.vn", "number": "88/VPCP-TĐKT",
              "date": "2026-03-02"}
    with entrypoint_waiter(notify, "on_nomination_not_awarded", timeout=15):
        intake("nomination_not_awarded", closed, "not-awarded-1", {})
    mails = [m for m in mail_sink.wait_for(3) if "Không có quyết định khen thưởng" in m["Subject"]]
    assert sorted(parseaddr(m["To"])[1] for m in mails) == ["n-1@example.vn", "tccb@example.vn"]
    to_unit = next(m.get_body(("plain",)).get_content() for m in mails if m["To"] == "tccb@example.vn")
    assert to_unit.startswith("Kính gửi Vụ Tổ chức cán bộ,") and "Thủ tướng không quyết định" in to_unit
    assert "88/VPCP-TĐKT ngày 02/03/2026" in to_unit


def test_outcomes_that_carry_the_sittings_day_name_it_without_a_kept_ballot_and_without_reading_one(
        notify, rabbit_config, mail_sink, monkeypatch):
    """Issue #20: review's outcome events and ``sitting_closed`` say the day the sitting was convened, so
    notify names the sitting by it without looking for a ballot it keeps (none was issued here)."""
    from services.notify.models import Ballots

    looked_up = []
    monkeypatch.setattr(Ballots, "issued", lambda self, sitting_id: looked_up.append(sitting_id))
    publish = EventPublisher(rabbit_config["AMQP_URI"], "review")
    convened = "2025-11-27T02:00:00+00:00"  # 27/11 in Vietnam; decided and closed on 01/12
    with entrypoint_waiter(notify, "on_nomination_decided", timeout=15):
        publish("nomination_decided", {**DECIDED, "convened_at": convened, "council_name": "Hội đồng TĐKT Văn phòng Bộ"},
                "decided-convened", {})
    with entrypoint_waiter(notify, "on_sitting_closed", timeout=15):
        publish("sitting_closed", {**CLOSED, "convened_at": convened}, "closed-convened", {})
    mails = mail_sink.wait_for(2)
    assert all("Hội đồng TĐKT Văn phòng Bộ ngày 27/11/2025" in m.get_body(("plain",)).get_content() for m in mails)
    assert looked_up == []
    with entrypoint_waiter(notify, "on_nomination_decided", timeout=15):  # an older review's event: looked up
        publish("nomination_decided", {**DECIDED, "nomination_id": "n-old"}, "decided-old", {})
    assert looked_up == ["s-1"]
