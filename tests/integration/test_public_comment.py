"""Public comment before the decision (issue #18) on a real broker and database (SQLite and PostgreSQL):
an order advanced by its unit council is published for comment and cannot be convened; an objection
holds it; its handling releases it or returns it; the council's ballot carries the objections; the
public page and its form over real HTTP; its rate limit under load from a second process; the
statistics forms' reporting year in SQL; the comment period crossing a revocation and an open sitting.

Long because each case walks a nomination through its unit council to its comment period first."""
import base64
import io
import json
import re
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from docx import Document
import sqlalchemy as sa
from nameko.testing.services import entrypoint_waiter

from services.review.models import cases
from services.review.service import MIGRATIONS, ReviewService
from shared.contract.errors import Conflict
from tests.harness import free_port, wait_until
from tests.integration.delivery import Tables, Tap
from tests.integration.test_one_truth import deliver
from tests.integration.review_support import TOMORROW, Review, directory, submitted

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def site(container_factory, rabbit_config, service_env, db_urls, monkeypatch):
    """A review container serving HTTP, with the unit council of 7 and the ministry council of 15."""
    port = free_port()
    monkeypatch.setenv("TDKT_HTTP_PORT", str(port))
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    review = Review(container, rabbit_config)
    review.taps["public_comment_opened"] = Tap(rabbit_config["AMQP_URI"], "review", "public_comment_opened")
    review.seen["public_comment_opened"] = []
    review.call("load_directory", directory())
    review.url = f"http://127.0.0.1:{port}/public/comment"
    review.tables = Tables(db_urls["review"], MIGRATIONS)
    yield review
    review.tables.dispose()
    review.close()


def under_comment(review, nomination_id="n-order", achievements="Hai mươi năm công tác xuất sắc"):
    """An HCLD3 nomination through its unit council, now under public comment at the ministry."""
    review.submit({**submitted(nomination_id, "HCLD3"), "achievements": achievements})
    sitting = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    ballots = wait_until(lambda: len(review.ballots(sitting)) == 7 and review.ballots(sitting), what="ballots")
    for ballot in ballots.values():
        review.vote(ballot["ballot_token"], {nomination_id: "approve"})
    return wait_until(lambda: review.call("get_case", nomination_id)["state"] == "public_comment"
                      and review.call("get_case", nomination_id), what="the comment period to open")


def end_the_period(review, nomination_id="n-order"):
    """As if ten working days had passed."""
    with review.tables.engine.begin() as connection:
        connection.execute(sa.update(cases).where(cases.c.nomination_id == nomination_id)
                           .values(comment_until=datetime.now(timezone.utc) - timedelta(minutes=1)))


def test_an_order_under_public_comment_cannot_be_convened_until_its_period_is_over(site):
    case = under_comment(site)
    opened = datetime.fromisoformat(case["comment_until"])
    assert case["stage"] == "ministry" and opened > datetime.now(timezone.utc) + timedelta(days=9)
    with pytest.raises(Conflict):
        site.call("convene_sitting", "hd-bo", TOMORROW)
    [opened_event] = wait_until(lambda: site.events("public_comment_opened"), what="public_comment_opened")
    assert (opened_event["nomination_id"], opened_event["stage"], opened_event["comment_until"]) == (
        "n-order", "ministry", case["comment_until"])
    end_the_period(site)
    sitting = site.call("convene_sitting", "hd-bo", TOMORROW)
    assert sitting["agenda"] == ["n-order"]
    [item] = wait_until(lambda: site.ballots(sitting["sitting_id"])).popitem()[1]["agenda"]
    assert item["public_comment"]["objections"] == []


def test_an_open_objection_holds_the_nomination_until_its_handling_releases_it(site):
    under_comment(site)
    filed = site.call("record_objection", {"nomination_id": "n-order", "name": "Trần Văn B",
                                           "contact": "0912 000 111", "text": "Thành tích kê khai chưa đúng."})
    end_the_period(site)
    with pytest.raises(Conflict):  # the period is over, but the objection is open
        site.call("convene_sitting", "hd-bo", TOMORROW)
    assert site.call("get_case", "n-order")["state"] == "public_comment"

    handled = site.call("handle_objection", filed["objection_id"], "resolved", "Đã xác minh: kê khai đúng.")
    assert handled["case_state"] == "waiting"
    sitting = site.call("convene_sitting", "hd-bo", TOMORROW)
    [item] = wait_until(lambda: site.ballots(sitting["sitting_id"])).popitem()[1]["agenda"]
    [note] = item["public_comment"]["objections"]
    assert (note["name"], note["channel"], note["status"], note["handling"]) == (
        "Trần Văn B", "paper", "resolved", "Đã xác minh: kê khai đúng.")
    assert "contact" not in note and "0912" not in json.dumps(item)
    summary = site.call("comment_summary", "n-order")["public_comment"]
    assert (summary["open"], summary["upheld"], len(summary["objections"])) == (0, 0, 1)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is installed by .ci/run")
def test_the_ballot_page_and_the_minutes_carry_the_objections_and_their_handling(site):
    """NĐ 98 Art. 46: the comments and their handling, complaints included, go to the council in writing
    (its ballot page) and into its minutes."""
    under_comment(site)
    filed = site.call("record_objection", {"nomination_id": "n-order", "name": "Trần Văn B",
                                           "contact": "0912 000 111", "text": "Thành tích kê khai chưa đúng."})
    site.call("handle_objection", filed["objection_id"], "resolved", "Đã xác minh: kê khai đúng.")
    end_the_period(site)
    sitting = site.call("convene_sitting", "hd-bo", TOMORROW)["sitting_id"]
    ballots = wait_until(lambda: len(site.ballots(sitting)) == 15 and site.ballots(sitting), what="ballots")
    token = next(iter(ballots.values()))["ballot_token"]
    page = requests.get(site.url.replace("/public/comment", f"/ballot/{token}"), timeout=10).text
    assert "Thành tích kê khai chưa đúng." in page and "Đã xác minh: kê khai đúng." in page  # the council sees it
    assert "0912 000 111" not in page
    for ballot in ballots.values():
        site.vote(ballot["ballot_token"], {"n-order": "approve"})
    wait_until(lambda: any(d["kind"] == "minutes" and "docx" in d["formats"]
                           for d in site.call("sitting_documents", sitting)), timeout=120, what="the minutes")
    document = site.call("sitting_document", sitting, "minutes", "docx")
    text = " ".join(p.text for p in Document(io.BytesIO(base64.b64decode(document["content_base64"]))).paragraphs)
    assert "Không áp dụng" not in text
    assert "Thành tích kê khai chưa đúng." in text and "Đã xác minh: kê khai đúng." in text
    # never who objected nor how to reach them: the minutes are mailed to every unit in scope
    assert "Trần Văn B" not in text and "0912 000 111" not in text


def test_an_upheld_objection_returns_the_nomination_to_its_unit_with_the_reason(site):
    under_comment(site)
    filed = site.call("record_objection", {"nomination_id": "n-order", "name": "Lê C", "contact": "c@example.vn",
                                           "text": "Đang bị khiếu nại."})
    site.call("handle_objection", filed["objection_id"], "upheld", "Đang xác minh khiếu nại (Luật Điều 4).")
    with pytest.raises(Conflict):  # handled once only
        site.call("handle_objection", filed["objection_id"], "resolved", "again")
    assert site.call("get_case", "n-order")["state"] == "returned"
    [returned] = wait_until(lambda: site.events("nomination_returned"), what="nomination_returned")
    assert returned["nomination_id"] == "n-order" and "Luật Điều 4" in returned["reasons"][0]

    amended = {**submitted("n-order", "HCLD3"), "revision": 2, "resubmitted": True, "achievements": "Đã bổ sung"}
    with entrypoint_waiter(site.container, "on_nomination_amended", timeout=15):
        site.intake("nomination_amended", amended, str(uuid.uuid4()), {})
    again = wait_until(lambda: site.call("get_case", "n-order")["state"] == "public_comment"
                       and site.call("get_case", "n-order"), what="a new comment period")
    assert again["stage"] == "ministry" and again["revision"] == 2  # the amended dossier, put out afresh


def test_a_nomination_under_public_comment_whose_prior_award_is_revoked_goes_back_to_its_unit(site):
    under_comment(site)
    entry = {"entry_id": "e-bk", "unit_id": "vp", "nominee_kind": "individual", "employee_id": "VP-0042",
             "nominee_name": "Nguyễn Thị Hoa", "award_code": "BK_TTG", "award_year": 2019,
             "decision": {"number": "9/QĐ-TTg", "date": "2019-12-01", "signer": None}, "money": 3_110_000,
             "state": "revoked", "source": "import", "nomination_id": None, "contact_email": None,
             "nominee_email": None}
    reasons = ["Khen thưởng BK_TTG năm 2019 đã bị hủy bỏ (Luật TĐKT Điều 93)"]
    with entrypoint_waiter(site.container, "on_register_entry_revoked", timeout=15):
        site.intake("register_entry_revoked", {
            "entry": entry, "ground": "a", "revocation": {"number": "1/QĐ-TTg", "date": "2026-12-01", "signer": None},
            "reason": "Khai man", "money_to_recover": 3_110_000, "operator": "op",
            "affected": [{"nomination_id": "n-order", "reasons": reasons}]}, str(uuid.uuid4()), {})
    assert site.call("get_case", "n-order")["state"] == "returned"
    [returned] = wait_until(lambda: site.events("nomination_returned"), what="nomination_returned")
    assert returned["nomination_id"] == "n-order" and returned["reasons"] == reasons


def form_of(page: str) -> dict:
    return dict(re.findall(r'name="(csrf)" value="([^"]+)"', page))


def test_the_public_page_lists_no_contact_details_and_takes_an_objection_over_http(site):
    under_comment(site, achievements=f"Sáng kiến cấp Bộ {SCRIPT}")
    listing = requests.get(site.url, timeout=10)
    feed = requests.get(site.url + ".json", timeout=10).json()
    assert listing.status_code == 200 and "Người n-order" in listing.text and "Văn phòng Bộ" in listing.text
    assert SCRIPT not in listing.text and "&lt;script&gt;" in listing.text
    assert "n-order@example.vn" not in listing.text + json.dumps(feed) and "vanphong@" not in listing.text
    assert [i["nomination_id"] for i in feed["items"]] == ["n-order"] and "contact_email" not in feed["items"][0]
    assert listing.headers["Content-Security-Policy"].startswith("default-src 'none'")

    page = requests.get(f"{site.url}/n-order", timeout=10).text
    sent = requests.post(f"{site.url}/n-order", timeout=10, data={
        **form_of(page), "name": f"Phạm D {SCRIPT}", "contact": "d@example.vn", "text": "Không đúng sự thật."})
    assert sent.status_code == 200 and "Đã nhận ý kiến" in sent.text and SCRIPT not in sent.text
    [stored] = site.call("list_objections", "n-order")
    assert (stored["channel"], stored["contact"], stored["status"]) == ("web", "d@example.vn", "open")
    after = requests.get(f"{site.url}/n-order", timeout=10).text + requests.get(site.url + ".json", timeout=10).text
    assert "Không đúng sự thật" not in after and "d@example.vn" not in after  # never shown publicly

    forged = requests.post(f"{site.url}/n-order", timeout=10, data={"csrf": "1." + "0" * 64, "name": "X",
                                                                    "contact": "x", "text": "y"})
    big = requests.post(f"{site.url}/n-order", timeout=10, data={**form_of(page), "name": "X", "contact": "x",
                                                                 "text": "y" * 20_000})
    unknown = requests.get(f"{site.url}/n-nothing", timeout=10)
    assert (forged.status_code, big.status_code, unknown.status_code) == (403, 413, 404)
    assert len(site.call("list_objections", "n-order")) == 1


LOAD = """
import json, sys, time, urllib.error, urllib.request
url, count = sys.argv[1], int(sys.argv[2])
codes, started = [], time.monotonic()
for _ in range(count):
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            codes.append(answer.status)
    except urllib.error.HTTPError as refused:
        codes.append(refused.code)
print(json.dumps({"codes": codes, "seconds": time.monotonic() - started}))
"""


def test_a_second_process_asking_too_often_is_rate_limited(site):
    """Bounded load on loopback: 100 requests from another process against a burst of 60, then 60 a minute."""
    done = subprocess.run([sys.executable, "-c", LOAD, site.url + ".json", "100"], capture_output=True,
                          text=True, timeout=120, check=True)
    result = json.loads(done.stdout)
    ok, limited = result["codes"].count(200), result["codes"].count(429)
    assert ok + limited == 100
    assert 60 <= ok <= 60 + int(result["seconds"]) + 1 and limited >= 30
    assert result["codes"][:60] == [200] * 60
    posts = [requests.post(f"{site.url}/n-none", data={"csrf": "x"}, timeout=10).status_code for _ in range(8)]
    assert posts[:5] == [404] * 5 and posts[5:].count(429) >= 2  # posts have a bucket of their own, of 5


def test_the_statistics_forms_take_a_reporting_year_from_1_december_to_30_november(site):
    base = {"unit_id": "vp", "award_code": "BK_BO", "award_year": 2025, "contact_email": "vp@example.vn",
            "stage": "ministry", "state": "decided", "outcome": "approved", "rule_set": "nd152-2025",
            "received_at": datetime(2025, 10, 1, tzinfo=timezone.utc), "revision": 1}
    with site.tables.engine.begin() as connection:
        for nid, at, signed in (
                ("n-30nov", datetime(2025, 11, 30, 16, 59, 59, tzinfo=timezone.utc), "2025-11-30"),  # 23:59:59 in Hà Nội
                ("n-1dec", datetime(2025, 11, 30, 17, 0, 0, tzinfo=timezone.utc), "2025-12-01"),  # 00:00 on 1 Dec
                ("n-lag", datetime(2025, 1, 15, 3, tzinfo=timezone.utc), "2025-12-10"),  # signed 11 months on
                ("n-unsigned", datetime(2025, 6, 1, 3, tzinfo=timezone.utc), None)):  # the Minister has not decided
            connection.execute(sa.insert(cases).values(**base, nomination_id=nid, decided_at=at, nominee={
                "kind": "individual", "name": nid, "gender": "female", "direct_worker": True},
                decision={"number": f"{nid}/QĐ-BTNMT", "date": signed} if signed else None))

    def behind(year, form_name="0603.N", code="BK_BO"):
        data = site.call("statistics_forms", year)
        form = next(f for f in data["forms"] if f["form"] == form_name)
        row = next(r for r in form["rows"] if r["code"] == code)
        return row["values"][0], row["sources"][0]

    assert behind(2025) == (1, ["n-30nov"])  # by the date of the head's decision, the award
    assert behind(2026) == (2, ["n-1dec", "n-lag"])


def test_intake_notes_the_comment_period_once_and_keeps_the_status_it_had(intake):
    nomination_id = intake.submit()["nomination_id"]
    opened = {"nomination_id": nomination_id, "unit_id": "vp", "stage": "unit", "award_code": "LDTT",
              "award_year": 2025, "revision": 1, "comment_until": "2025-12-15T16:59:59+00:00"}
    for _ in range(2):  # the same message twice: one effect
        deliver(intake.container, "review", "public_comment_opened", opened, "opened-1",
                intake.rabbit_config["AMQP_URI"])
    stored = intake.call("vp", "get_nomination", nomination_id)
    notes = [entry for entry in stored["history"] if entry.get("event") == "public_comment"]
    assert stored["status"] == "submitted" and len(notes) == 1
    assert notes[0]["comment_until"] == "2025-12-15T16:59:59+00:00"


def revoked(nomination_id):
    """``intake.register_entry_revoked``: an award the nomination relied on was revoked (Law Art. 93)."""
    entry = {"entry_id": "e-1", "unit_id": "vp", "nominee_kind": "individual", "employee_id": "VP-0042",
             "nominee_name": f"Người {nomination_id}", "award_code": "CSTDCS", "award_year": 2024,
             "decision": {"number": "88/QĐ-VP", "date": "2024-12-15", "signer": "Trần Văn Bình"}, "money": 2_340_000,
             "state": "revoked", "source": "decision", "nomination_id": "n-old",
             "contact_email": "vanphong@example.vn", "nominee_email": None}
    return {"entry": entry, "ground": "a", "revocation": {"number": "5/QĐ-VP", "date": "2025-12-01", "signer": None},
            "reason": "Khai man thành tích", "money_to_recover": 2_340_000, "operator": "abc123",
            "affected": [{"nomination_id": nomination_id, "reasons": ["Khen thưởng CSTDCS năm 2024 đã bị hủy bỏ"]}]}


def test_a_revocation_returns_a_nomination_under_public_comment_as_intake_says(site):
    """Intake tells the operator that every affected live nomination is returned, and waits for review's
    ``nomination_returned``: one under comment must not go on to its council on a revoked title."""
    under_comment(site)
    with entrypoint_waiter(site.container, "on_register_entry_revoked", timeout=15):
        site.intake("register_entry_revoked", revoked("n-order"), str(uuid.uuid4()), {})
    assert site.call("get_case", "n-order")["state"] == "returned"
    [returned] = wait_until(lambda: site.events("nomination_returned"), what="nomination_returned")
    assert returned["nomination_id"] == "n-order" and "hủy bỏ" in returned["reasons"][0]
    assert site.call("get_case", "n-order")["stage"] == "ministry"


def test_a_sitting_never_decides_a_nomination_that_left_its_agenda_and_is_under_comment_again(site):
    """On the ministry council's agenda, returned by a revocation, amended: the new dossier is put out for
    comment afresh. The old sitting's marks were for the old dossier; its close must leave the case alone
    (no decision before the new period ends)."""
    under_comment(site)
    end_the_period(site)
    sitting = site.call("convene_sitting", "hd-bo", TOMORROW)["sitting_id"]
    ballots = wait_until(lambda: len(site.ballots(sitting)) == 15 and site.ballots(sitting), what="ballots")
    with entrypoint_waiter(site.container, "on_register_entry_revoked", timeout=15):
        site.intake("register_entry_revoked", revoked("n-order"), str(uuid.uuid4()), {})
    amended = {**submitted("n-order", "HCLD3"), "revision": 2, "resubmitted": True, "achievements": "Đã bổ sung"}
    with entrypoint_waiter(site.container, "on_nomination_amended", timeout=15):
        site.intake("nomination_amended", amended, str(uuid.uuid4()), {})
    wait_until(lambda: site.call("get_case", "n-order")["state"] == "public_comment", what="a new comment period")
    for ballot in ballots.values():
        site.vote(ballot["ballot_token"], {"n-order": "approve"})
    result = site.call("sitting_result", sitting)
    assert result["status"] == "closed"
    case = site.call("get_case", "n-order")
    assert (case["state"], case["outcome"], case["revision"]) == ("public_comment", None, 2)
    assert not [e for e in site.events("nomination_decided") if e["nomination_id"] == "n-order"]


def test_the_same_objection_sent_twice_is_one_objection_for_the_operator_to_handle(site):
    """A double click on the form, or the same letter recorded twice: one objection, one hold to lift."""
    under_comment(site)
    sent = {"nomination_id": "n-order", "name": "Trần Văn B", "contact": "0912 000 111", "text": "Kê khai sai."}
    first, again = site.call("record_objection", sent), site.call("record_objection", {**sent, "text": " Kê khai sai. "})
    assert again["objection_id"] == first["objection_id"]
    other = site.call("record_objection", {**sent, "text": "Một ý kiến khác."})
    assert [o["objection_id"] for o in site.call("list_objections", "n-order")] == [
        first["objection_id"], other["objection_id"]]


def test_a_paper_objection_dated_before_the_period_opened_is_refused_and_changes_nothing(site):
    """A letter dated before the list was published cannot be a comment on it (a typo, say 0001-01-01):
    refused with the reason, nothing recorded, the nomination not held."""
    under_comment(site)
    sent = {"nomination_id": "n-order", "name": "Trần Văn B", "contact": "0912 000 111", "text": "Kê khai sai."}
    for day in ("0001-01-01T00:00:00+00:00", (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()):
        with pytest.raises(Conflict) as refused:
            site.call("record_objection", {**sent, "received_at": day})
        assert "before the public comment period opened" in str(refused.value)
    assert site.call("list_objections", "n-order") == []
    kept = site.call("record_objection", {**sent, "received_at": datetime.now(timezone.utc).isoformat()})
    assert [o["objection_id"] for o in site.call("list_objections", "n-order")] == [kept["objection_id"]]


def test_the_public_page_takes_a_bounded_number_of_open_objections_to_one_nomination(site):
    """Anyone may post the form, and each objection holds the nomination until the office handles it: at
    most MAX_OPEN_FROM_THE_WEB open ones from the page; the next is refused, with the way to object in
    writing, and recorded nowhere. Letters the office records are not bounded, and a handled objection
    makes room again."""
    from services.review import comment

    under_comment(site)
    now = datetime.now(timezone.utc)

    def from_the_web(i):
        return comment.file_objection({"nomination_id": "n-order", "name": f"Người {i}", "contact": f"{i}@x.vn",
                                       "text": f"Ý kiến {i}."}, "web", site.tables.uow(), now)

    kept = [from_the_web(i) for i in range(comment.MAX_OPEN_FROM_THE_WEB)]
    with pytest.raises(Conflict) as refused:
        from_the_web("one too many")
    assert "in writing" in str(refused.value) and "bằng văn bản" in str(refused.value)
    assert str(comment.MAX_OPEN_FROM_THE_WEB) not in str(refused.value)  # objections are never shown, nor counted
    assert from_the_web(0)["objection_id"] == kept[0]["objection_id"]  # the same one again is still that one
    assert len(site.call("list_objections", "n-order")) == comment.MAX_OPEN_FROM_THE_WEB
    letter = site.call("record_objection", {"nomination_id": "n-order", "name": "Trần Văn B",
                                            "contact": "0912 000 111", "text": "Kê khai sai."})
    assert letter["channel"] == "paper"
    site.call("handle_objection", kept[0]["objection_id"], "resolved", "Đã xác minh: đúng sự thật.")
    again = from_the_web("after handling")
    assert len(site.call("list_objections", "n-order")) == comment.MAX_OPEN_FROM_THE_WEB + 2
    page = requests.get(f"{site.url}/n-order", timeout=10).text
    refused_over_http = requests.post(f"{site.url}/n-order", timeout=10, data={
        **form_of(page), "name": "Phạm D", "contact": "d@example.vn", "text": "Một ý kiến nữa."})
    assert refused_over_http.status_code == 409 and "bằng văn bản" in refused_over_http.text
    assert again["objection_id"] in [o["objection_id"] for o in site.call("list_objections", "n-order")]
