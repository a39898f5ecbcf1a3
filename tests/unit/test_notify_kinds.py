"""The mails review events cause: invitations and reminders to members, outcomes to unit and nominee.

Long because it holds one test per kind of mail over one set of fixtures.
"""
import email
import email.policy
import json
from types import SimpleNamespace

import pytest

from services.notify import kinds
from services.notify.mail import Renderer, build_message
from shared.contract.awards import AWARD_NAMES

TOKEN = "eyJzIjoiczEiLCJtIjoibTEifQ.Zm9vYmFy_-1"
COMMAND = f"tdkt vote --token {TOKEN} approve n-1 n-2"


def ballot(**overrides):
    return {"sitting_id": "s-1", "council_id": "hd-vp", "ballot_token": TOKEN,
            "member": {"id": "m-vp-1", "name": "Nguyễn Văn A", "email": "a@example.vn"},
            "deadline": "2025-12-05T10:00:00+00:00",
            "agenda": [{"nomination_id": "n-1", "award_code": "LDTT", "nominee_name": "Trần Thị Bình",
                        "unit_id": "vp"},
                       {"nomination_id": "n-2", "award_code": "CSTDCS", "nominee_name": "Lê Văn Cường",
                        "unit_id": "vp"}], **overrides}


def decided(**overrides):
    return {"nomination_id": "n-1", "outcome": "approved", "stage": "unit",
            "tally": {"approve": 6, "reject": 1, "abstain": 0, "members": 7, "required": 6},
            "reasons": [], "unit_id": "vp", "contact_email": "vanphong@example.vn",
            "nominee_email": "binh@example.vn", "sitting_id": "s-1", "decided_at": "2025-12-05T10:00:00+00:00",
            **overrides}


def returned(**overrides):
    return {"nomination_id": "n-1", "stage": "unit", "reasons": ["Thiếu biên bản bình xét"], "unit_id": "vp",
            "contact_email": "vanphong@example.vn", "nominee_email": "binh@example.vn", **overrides}


def render(request):
    return Renderer().render(request)


def single_line(subject):
    return "\n" not in subject and "\r" not in subject and subject.startswith("[TĐKT] ")


# --- invitation and reminder ------------------------------------------------------------------------

@pytest.mark.parametrize("make, kind", [(kinds.invitation, "invitation"), (kinds.reminder, "reminder")])
def test_a_ballot_mail_goes_to_the_member_alone_with_a_stable_key(make, kind):
    (request,) = make(ballot(), "evt-1")

    assert (request.kind, request.recipient.email, request.recipient.name) == (kind, "a@example.vn", "Nguyễn Văn A")
    assert request.key == make(ballot(), "evt-1")[0].key != make(ballot(), "evt-2")[0].key


def test_the_invitation_and_the_reminder_of_one_ballot_have_different_keys():
    assert kinds.invitation(ballot(), "evt-1")[0].key != kinds.reminder(ballot(), "evt-1")[0].key


def test_the_deadline_is_shown_in_vietnam_time():
    assert kinds.vietnam_time("2025-12-05T10:00:00+00:00") == "17:00 ngày 05/12/2025"
    assert kinds.vietnam_time("2025-12-05T17:00:00+07:00") == "17:00 ngày 05/12/2025"
    assert kinds.vietnam_time("2025-12-31T20:30:00+00:00") == "03:30 ngày 01/01/2026"
    assert kinds.vietnam_time("soon") == "soon"


def test_the_ballot_context_names_the_agenda_the_token_and_how_to_vote():
    context = kinds.invitation(ballot(), "evt-1")[0].context

    assert context["vote_command"] == COMMAND
    assert [item["award_name"] for item in context["agenda"]] == [AWARD_NAMES["LDTT"], AWARD_NAMES["CSTDCS"]]
    assert json.loads(context["vote_payload"]) == {"ballot_token": TOKEN,
                                                   "choices": {"n-1": "approve", "n-2": "approve"}}
    assert (context["deadline"], context["deadline_vi"]) == ("2025-12-05T10:00:00+00:00", "17:00 ngày 05/12/2025")


def test_a_token_with_shell_characters_is_quoted_in_the_command_line():
    assert kinds.vote_command("a b;rm", ["n-1"]) == "tdkt vote --token 'a b;rm' approve n-1"


@pytest.mark.parametrize("make, words", [(kinds.invitation, "Phiếu bầu phiên họp"),
                                         (kinds.reminder, "Nhắc bỏ phiếu")])
def test_a_ballot_mail_renders_the_token_the_command_and_the_deadline(make, words):
    subject, text, html = render(make(ballot(), "evt-1")[0])

    assert single_line(subject) and words in subject and "17:00 ngày 05/12/2025" in subject
    for body in (text, html):
        for fact in (TOKEN, COMMAND, "17:00 ngày 05/12/2025", "Trần Thị Bình", "n-2", AWARD_NAMES["CSTDCS"],
                     "council.vote_cast", "English"):
            assert fact in body, fact
    assert "<!doctype html>" in html and "</html>" in html


def test_the_reminder_says_the_member_has_not_voted_yet():
    _, text, html = render(kinds.reminder(ballot(), "evt-1")[0])

    assert "chưa bỏ phiếu" in text and "have not voted yet" in text
    assert "chưa bỏ phiếu" in html and "have not voted yet" in html


def test_the_invitation_html_escapes_a_nominee_name_and_the_text_keeps_it():
    agenda = [{"nomination_id": "n-1", "award_code": "GK", "nominee_name": "Phạm <b>Dũng</b>", "unit_id": "vp"}]
    _, text, html = render(kinds.invitation(ballot(agenda=agenda), "evt-1")[0])

    assert "<b>" not in html and "Phạm &lt;b&gt;Dũng&lt;/b&gt;" in html
    assert "Phạm <b>Dũng</b>" in text


def test_a_rendered_invitation_builds_a_message_that_keeps_its_vietnamese_subject():
    (request,) = kinds.invitation(ballot(), "evt-1")
    subject, text, html = render(request)
    mail = SimpleNamespace(key=request.key, subject=subject, recipient=request.recipient.email,
                           recipient_name=request.recipient.name, text=text, html=html)

    message = email.message_from_bytes(build_message(mail, "tdkt@example.vn", "example.vn").as_bytes(),
                                       policy=email.policy.default)

    assert message["Subject"] == subject
    assert "Phiếu bầu phiên họp hd-vp" in message["Subject"]
    parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    assert COMMAND in parts["text/plain"] and TOKEN in parts["text/html"]


# --- outcomes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("event_type, event, kind", [
    ("nomination_advanced", decided(outcome=None, stage="ministry"), "advanced"),
    ("nomination_decided", decided(), "decided"),
    ("nomination_returned", returned(), "returned")])
def test_an_outcome_goes_to_the_nominee_and_a_return_also_to_the_unit_with_stable_keys(event_type, event, kind):
    requests = kinds.outcome(event_type, event, "evt-1")

    unit = [(kind, "vanphong@example.vn")] if kind == "returned" else []  # decisions: the sitting's one mail
    assert [(r.kind, r.recipient.email) for r in requests] == [*unit, (kind, "binh@example.vn")]
    assert [r.context["audience"] for r in requests] == ["unit"] * len(unit) + ["nominee"]
    assert len({r.key for r in requests}) == len(requests)
    assert [r.key for r in requests] == [r.key for r in kinds.outcome(event_type, event, "evt-1")]
    assert kinds.requests_for(event_type, event, "evt-1") == requests


def test_a_nominee_with_the_contact_address_gets_one_mail():
    requests = kinds.outcome("nomination_returned", returned(nominee_email=" VanPhong@Example.VN"), "evt-1")
    assert [r.recipient.email for r in requests] == ["vanphong@example.vn"]
    # a decision reaches that address in the sitting's mail to the unit only
    assert kinds.outcome("nomination_decided", decided(nominee_email=" VanPhong@Example.VN"), "evt-1") == []


def test_a_nominee_without_an_address_gets_no_mail():
    assert [r.recipient.email for r in kinds.outcome("nomination_returned", returned(nominee_email=None), "e")] \
        == ["vanphong@example.vn"]


@pytest.mark.parametrize("result, words", [
    ("approved", "được công nhận / quyết định khen thưởng"),
    ("proposed", "được đề nghị cấp trên khen thưởng"),
    ("rejected", "không được đề nghị")])
def test_a_decision_renders_its_outcome_in_vietnamese_with_the_tally(result, words):
    event = decided(outcome=result, reasons=["Đạt 6/7 phiếu đồng ý, cần 6 (NĐ 98 Điều 30.7)."])
    subject, text, html = render(kinds.outcome("nomination_decided", event, "evt-1")[0])

    assert single_line(subject) and "Kết quả xét khen thưởng hồ sơ n-1" in subject and words in subject
    for body in (text, html):
        assert words in body and "6/7 phiếu đồng ý" in body and "Hội đồng TĐKT đơn vị" in body
        assert "Đạt 6/7 phiếu đồng ý, cần 6" in body and "English" in body


def test_a_decision_names_the_award_and_nominee_when_the_event_carries_them_and_escapes_html():
    event = decided(award_code="CSTD_BO", nominee_name="Hoàng <b>Em</b>", stage="ministry")
    subject, text, html = render(kinds.outcome("nomination_decided", event, "evt-1")[0])

    assert "Hoàng <b>Em</b>" in subject and "Hoàng <b>Em</b>" in text
    assert "<b>" not in html and "Hoàng &lt;b&gt;Em&lt;/b&gt;" in html
    assert AWARD_NAMES["CSTD_BO"] in text and "Hội đồng TĐKT Bộ" in html


def test_an_advanced_nomination_says_where_it_goes_next():
    subject, text, html = render(kinds.outcome("nomination_advanced", decided(outcome=None, stage="ministry"),
                                               "evt-1")[0])

    assert single_line(subject) and "được chuyển lên Hội đồng TĐKT Bộ" in subject
    assert "6/7" in text and "6/7" in html


def test_a_returned_nomination_renders_its_reasons_without_a_tally():
    subject, text, html = render(kinds.outcome("nomination_returned", returned(), "evt-1")[0])

    assert subject == "[TĐKT] Hồ sơ n-1 được trả lại để bổ sung"
    for body in (text, html):
        assert "Thiếu biên bản bình xét" in body and "Biểu quyết" not in body


def test_an_event_notify_does_not_mail_about_causes_no_mail():
    assert kinds.requests_for("vote_counted", {"sitting_id": "s-1"}, "evt-1") == []
    assert kinds.requests_for("sitting_closed", {"sitting_id": "s-1", "results": []}, "evt-1") == []


# --- sealed ballots: the public key, receipts and the list of receipts ---------------------------------

PUBLIC_KEY = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="


def test_an_invitation_to_a_sealed_sitting_gives_the_key_the_sealing_command_and_no_plain_choices():
    context = kinds.invitation(ballot(public_key=PUBLIC_KEY), "evt-1")[0].context
    _, text, html = render(kinds.invitation(ballot(public_key=PUBLIC_KEY), "evt-1")[0])

    assert context["vote_command"] == f"tdkt vote --token {TOKEN} --key {PUBLIC_KEY} approve n-1 n-2"
    assert set(json.loads(context["vote_payload"])) == {"ballot_token", "sealed"}
    assert json.loads(context["sealed_content"])["choices"] == {"n-1": "<approve|reject|abstain>",
                                                                "n-2": "<approve|reject|abstain>"}
    for body in (text, html):
        assert PUBLIC_KEY in body and "--key" in body and "sealed" in body


def test_a_counted_ballot_mails_its_receipt_to_its_member_alone():
    event = {"sitting_id": "s-1", "member_id": "m-vp-1", "receipt": "7K3Q-M2ZD-XW4A-P9RT",
             "member": {"id": "m-vp-1", "name": "Nguyễn Văn A", "email": "a@example.vn"}}
    [request] = kinds.receipt(event, "evt-9")
    subject, text, html = render(request)

    assert (request.kind, request.recipient.email) == ("receipt", "a@example.vn")
    assert single_line(subject) and "7K3Q-M2ZD-XW4A-P9RT" in subject
    assert all("7K3Q-M2ZD-XW4A-P9RT" in body and "English" in body for body in (text, html))
    assert kinds.receipt({"sitting_id": "s-1", "member_id": "m-vp-1"}, "evt-9") == []  # counted before receipts


def test_the_list_of_receipts_goes_to_every_member_with_every_code_and_the_count():
    codes = ["2AAA-BBBB-CCCC-DDDD", "7K3Q-M2ZD-XW4A-P9RT"]
    published = {"sitting_id": "s-1", "council_id": "hd-vp", "codes": codes, "ballots_counted": 2,
                 "members": [{"name": f"Thành viên {n}", "email": f"m{n}@example.vn"} for n in range(1, 4)]}
    requests = kinds.receipts(published, "evt-10")

    assert [r.recipient.email for r in requests] == ["m1@example.vn", "m2@example.vn", "m3@example.vn"]
    assert len({r.key for r in requests}) == 3
    subject, text, html = render(requests[0])
    assert single_line(subject) and "2/3" in subject
    assert all(code in body for code in codes for body in (text, html))


def closed(**overrides):
    def result(nid, name, award, outcome, contact="vanphong@example.vn", unit="vp", unit_name="Văn phòng Bộ"):
        return {"nomination_id": nid, "award_code": award, "nominee_name": name, "unit_id": unit,
                "unit_name": unit_name, "contact_email": contact, "approve": 6, "reject": 1, "abstain": 0,
                "members": 7, "required": 6, "outcome": outcome, "reasons": [] if outcome != "rejected"
                else ["Đạt 4/7 phiếu đồng ý, cần 6."]}
    return {"sitting_id": "0cc2202f" * 4, "council_id": "hd-vp", "council_name": "Hội đồng TĐKT Văn phòng Bộ",
            "stage": "unit", "quorum_met": True, "closed_at": "2026-12-09T02:00:00+00:00", "participants": 7,
            "units": ["vp", "tccb"], "results": [
                result("n-1", "Trần Thị Bình", "LDTT", "approved"), result("n-2", "Lê Văn Cường", "CSTDCS", "rejected"),
                result("n-3", "Phạm Dũng", "CSTD_BO", "advanced"), result("n-4", "Vũ Em", "LDTT", "requeued"),
                result("n-5", "Đỗ Giang", "LDTT", "approved", "tccb@example.vn", "tccb", "Vụ Tổ chức cán bộ")],
            **overrides}


def test_a_closed_sitting_sends_each_unit_contact_one_mail_with_its_decided_and_advanced_nominations():
    requests = kinds.requests_for("sitting_closed", closed(), "evt-9")

    assert [(r.kind, r.recipient.email) for r in requests] == [("sitting_outcomes", "tccb@example.vn"),
                                                               ("sitting_outcomes", "vanphong@example.vn")]
    assert [r.key for r in requests] == [r.key for r in kinds.requests_for("sitting_closed", closed(), "evt-9")]
    subject, text, html = render(requests[1])
    assert subject == "[TĐKT] Kết quả phiên họp Hội đồng TĐKT Văn phòng Bộ ngày 09/12/2026 – Văn phòng Bộ (3 hồ sơ)"
    for body in (text, html):
        main = body.split("reference")[0]
        for fact in ("Kính gửi", "Văn phòng Bộ", "Trần Thị Bình", AWARD_NAMES["LDTT"], "Lê Văn Cường",
                     "không được đề nghị", "Đạt 4/7 phiếu đồng ý, cần 6.", "Phạm Dũng", "chuyển lên", "6/7"):
            assert fact in main, fact
        assert "Vũ Em" not in body and "Đỗ Giang" not in body  # not decided there / another unit
        assert "0cc2202f" not in main and "n-1" not in main and "0cc2202f" * 4 in body


def test_the_outcome_mails_speak_in_names_with_ids_on_one_reference_line():
    event = decided(award_code="LDTT", award_year=2026, nominee_name="Trần Thị Bình", unit_name="Văn phòng Bộ",
                    council_name="Hội đồng TĐKT Văn phòng Bộ", decided_at="2026-12-09T02:00:00+00:00",
                    nomination_id="0cc2202f" * 4)
    subject, text, html = render(kinds.outcome("nomination_decided", event, "evt-1")[0])

    assert subject.startswith("[TĐKT] Kết quả xét khen thưởng Trần Thị Bình – Lao động tiên tiến")
    for body in (text, html):
        assert "Hội đồng TĐKT Văn phòng Bộ ngày 09/12/2026" in body and "Lao động tiên tiến năm 2026" in body
        assert body.count("0cc2202f" * 4) == 1 and "Tham chiếu / reference" in body



def test_two_units_with_one_contact_address_get_one_mail_that_names_each_unit_and_each_rows_unit():
    """A clerk who serves two units (one address in both dossiers) gets one mail for the sitting (its key
    is the address's); it must not greet the first unit alone over the second unit's nominations."""
    event = closed()
    for result in event["results"]:
        result["contact_email"] = "vanthu@example.vn"
    requests = kinds.requests_for("sitting_closed", event, "evt-9")

    assert [r.recipient.email for r in requests] == ["vanthu@example.vn"]
    subject, text, html = render(requests[0])
    assert "Văn phòng Bộ" in subject and "Vụ Tổ chức cán bộ" in subject and "(4 hồ sơ)" in subject
    for body in (text, html):
        greeting = body.split("Kết quả xét")[0]
        assert "Văn phòng Bộ" in greeting and "Vụ Tổ chức cán bộ" in greeting
        row = body[body.index("Đỗ Giang"):][:200]
        assert "Vụ Tổ chức cán bộ" in row


def test_outcome_mails_name_the_sitting_by_the_day_it_was_convened_as_its_invitations_did():
    """A member's invitation and a unit's outcome mail must not date one sitting two ways: the day it was
    convened when notify keeps a ballot of it, the day of the close only when it has none."""
    convened = {"council_id": "hd-vp", "council_name": "Hội đồng TĐKT Văn phòng Bộ",
                "convened_at": "2026-11-30T18:00:00+00:00"}  # 01/12 in Vietnam
    digest = kinds.sitting_outcomes(closed(), "evt-9", convened)[0]
    nominee = kinds.outcome("nomination_decided", decided(), "evt-1", convened)[0]
    for request in (digest, nominee):
        subject, text, _ = render(request)
        assert "ngày 01/12/2026" in text and "09/12/2026" not in text and "05/12/2025" not in text
    assert "ngày 01/12/2026" in render(digest)[0]
    assert "ngày 09/12/2026" in render(kinds.sitting_outcomes(closed(), "evt-9")[0])[0]
    assert "ngày 05/12/2025" in render(kinds.outcome("nomination_decided", decided(), "evt-1")[0])[1]


def test_an_acknowledgement_names_the_unit_when_known_and_its_code_otherwise_with_a_vietnamese_time():
    from services.notify.domain import acknowledgement

    event = {"nomination_id": "n-1", "award_code": "LDTT", "award_year": 2025, "unit_id": "vp",
             "nominee": {"name": "Trần Thị Bình"}, "contact_email": "vanphong@example.vn",
             "submitted_at": "2025-12-31T20:30:00+00:00"}
    [request] = acknowledgement(event, "evt-1")
    _, text, html = render(request)
    assert text.startswith("Kính gửi đơn vị vp,") and "03:30 ngày 01/01/2026" in text
    request.context["unit_name"] = "Văn phòng <Bộ>"
    _, text, html = render(request)
    assert text.startswith("Kính gửi Văn phòng <Bộ>,") and "Văn phòng &lt;Bộ&gt;" in html
    assert kinds.vietnam_day("2026-03-02") == "02/03/2026" and kinds.vietnam_day("không rõ") == "không rõ"


@pytest.mark.parametrize("body", [
    {}, {"units": []}, {"units": None}, {"units": "vp"}, {"units": [{"id": "vp"}]},
    {"units": [{"id": "vp", "name": 7}]}, {"units": [{"id": "vp", "name": "Văn phòng", "email": "x@y.vn"}]},
    {"units": [{"id": "v p/..", "name": "Văn phòng"}]}, {"units": [{"id": "vp", "name": "x" * 10_000}]},
    {"units": [{"id": "vp", "name": "Văn phòng"}] * 5001}, {"units": [{"id": "vp", "name": "A"}], "members": []},
    [{"id": "vp", "name": "A"}], "units",
])
def test_a_careless_or_hostile_directory_loaded_is_refused_before_any_name_is_kept(body):
    """What a sender other than review may put on the bus: refused (then dead-lettered), never stored."""
    from shared.contract.errors import ValidationError
    from shared.contract.schemas import DirectoryLoaded, MAX_BALLOT_BYTES, load

    with pytest.raises(ValidationError):
        load(DirectoryLoaded, body, MAX_BALLOT_BYTES)


def test_an_older_nomination_not_awarded_renders_and_a_hostile_one_is_refused():
    from services.notify.register_kinds import not_awarded
    from shared.contract.errors import ValidationError
    from shared.contract.schemas import NominationNotAwarded, load

    old = load(NominationNotAwarded, {"nomination_id": "n-1", "unit_id": "vp", "reason": "Không quyết định."})
    assert not_awarded(old, "evt-1") == []  # nobody to tell without an address, and nothing fails
    event = load(NominationNotAwarded, {**old, "contact_email": "vp@example.vn", "nominee_name": "<i>Bình</i>"})
    subject, text, html = render(not_awarded(event, "evt-1")[0])
    assert single_line(subject) and "Không quyết định." in text and "&lt;i&gt;Bình&lt;/i&gt;" in html
    for hostile in ({**old, "reason": "x" * 2001}, {**old, "award_code": "KHONG"}, {**old, "award_year": "2025"},
                    {**old, "contact_email": "not an address"}, {**old, "date": "2026-03-02T00:00:00+07:00:00"}):
        with pytest.raises(ValidationError):
            load(NominationNotAwarded, hostile)
