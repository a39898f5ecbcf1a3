"""The ballot page's logic without a server: its CSRF field, headers, the vote it builds, the form it renders."""
import re
from datetime import datetime, timezone

from services.review import ballot_page as page
from shared.contract.schemas import VoteCast, load

KEY = "k" * 32
TOKEN = "eyJzIjoiczEifQ.c2lnbmF0dXJl"


def case(nomination_id, name, unit="vp", award="LDTT", **nominee):
    return {"nomination_id": nomination_id, "unit_id": unit, "award_code": award, "award_year": 2026,
            "nominee": {"kind": "individual", "name": name, "gender": "female", "position": "Chuyên viên", **nominee},
            "dossier": {"achievements": "Hoàn thành xuất sắc", "history": [
                {"year": 2025, "rating": "HTXSNV", "titles": ["LDTT"],
                 "initiatives": [{"id": "SK-1", "title": "Số hoá hồ sơ", "scope": "co_so"}]}],
                "documents": [{"kind": "to_trinh", "filename": "to-trinh.pdf"}]}}


def items(lang="vi"):
    return [page.agenda_item(case("n-1", "Trần Thị Bình"), "Văn phòng Bộ", lang),
            page.agenda_item(case("n-2", "Lê <script>x</script>", award="CSTDCS"), "Văn phòng Bộ", lang),
            page.agenda_item(case("n-3", "Phạm Văn Dũng", unit="tccb"), "Vụ Tổ chức cán bộ", lang)]


def render_form(choices=None, query="", missing=()):
    return page.render("ballot.html.j2", lang="vi", council_name="Hội đồng TĐKT Văn phòng Bộ",
                       sitting_date="09/12/2026", deadline="17:00, 15/12/2026", members=7, action="/ballot/t",
                       csrf="c", switch_url="/ballot/t?lang=en", groups=page.groups(items(), query),
                       choices=choices or {}, query=query, total=3, missing=list(missing),
                       written_opinion=False).decode()


def test_the_csrf_field_is_bound_to_the_ballot_and_the_key():
    field = page.csrf_field(KEY, TOKEN)
    assert field == page.csrf_field(KEY, TOKEN)
    assert field != page.csrf_field(KEY, TOKEN + "x") and field != page.csrf_field("j" * 32, TOKEN)


def test_only_a_same_site_post_with_the_ballots_csrf_field_is_genuine():
    form = {"csrf": page.csrf_field(KEY, TOKEN)}
    assert page.genuine_post(KEY, TOKEN, form, "same-origin") and page.genuine_post(KEY, TOKEN, form, None)
    assert page.genuine_post(KEY, TOKEN, form, "none")
    assert not page.genuine_post(KEY, TOKEN, form, "cross-site")
    assert not page.genuine_post(KEY, TOKEN, form, "same-site")
    assert not page.genuine_post(KEY, TOKEN, {"csrf": page.csrf_field(KEY, "other")}, "same-origin")
    assert not page.genuine_post(KEY, TOKEN, {}, None)


def test_every_answer_forbids_caching_inline_script_sniffing_and_referrers():
    headers = dict(page.headers())
    assert headers["Cache-Control"] == "no-store" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_the_vote_is_the_same_council_vote_cast_every_client_sends():
    vote = page.build_vote(TOKEN, {"n-1": "approve", "n-2": "reject"}, True, None)  # a sitting without a key
    assert load(VoteCast, vote) == {"ballot_token": TOKEN, "choices": {"n-1": "approve", "n-2": "reject"},
                                    "written_opinion": True}


def test_only_known_choices_for_agenda_items_are_read_from_the_form():
    form = {"n-1": "approve", "n-2": "maybe", "n-9": "reject", "csrf": "x"}
    assert page.read_choices(form, ["n-1", "n-2", "n-3"]) == {"n-1": "approve"}


def test_the_form_has_one_radio_group_per_item_named_by_its_nomination_id():
    html = render_form()
    for nid in ("n-1", "n-2", "n-3"):
        assert [v for v in re.findall(rf'name="{nid}" value="(\w+)"', html)] == ["approve", "reject", "abstain"]
    assert html.count("<fieldset") == 3 and html.count("<legend>") == 3


def test_the_form_shows_each_dossier_by_unit_and_award_and_escapes_names():
    html = render_form()
    assert "<script>" not in html and "Lê &lt;script&gt;x&lt;/script&gt;" in html
    for fact in ("Văn phòng Bộ – Lao động tiên tiến", "Vụ Tổ chức cán bộ", "Chuyên viên", "Nữ",
                 "Hoàn thành xuất sắc nhiệm vụ", "Số hoá hồ sơ", "Tờ trình: to-trinh.pdf", "09/12/2026", "7"):
        assert fact in html, fact
    assert "style=" not in html and "<script" not in html  # nothing inline for the CSP to refuse


def test_a_filter_keeps_the_hidden_items_choices_as_hidden_fields():
    html = render_form({"n-1": "approve", "n-3": "reject"}, query="dũng")
    assert 'name="n-3" value="reject" checked' in html
    assert '<input type="hidden" name="n-1" value="approve">' in html and 'name="n-1" value="reject"' not in html


def test_unmarked_items_are_pointed_out():
    html = render_form({"n-1": "approve"}, missing=["n-2", "n-3"])
    assert "(3 hồ sơ)" in html and "Còn 2 hồ sơ chưa chọn" in html and html.count("item unmarked") == 2


def test_dates_are_shown_the_vietnamese_way_in_vietnam_time():
    moment = datetime(2026, 12, 8, 20, 30, tzinfo=timezone.utc)
    assert page.vietnam_date(moment) == "03:30, 09/12/2026" and page.vietnam_date(moment, False) == "09/12/2026"


def test_a_naive_deadline_is_utc_and_shows_in_vietnam_time():
    due = datetime(2026, 12, 9, 16, 59, 59, tzinfo=timezone.utc)
    assert page.vietnam_date(due) == "23:59, 09/12/2026"
    assert page.vietnam_date(due.replace(tzinfo=None)) == "23:59, 09/12/2026"


def test_the_page_seals_the_vote_to_the_sittings_key_and_shows_its_receipt():
    from nacl.public import PrivateKey, SealedBox
    import base64
    import json as json_

    secret = PrivateKey.generate()
    public = base64.b64encode(bytes(secret.public_key)).decode()
    vote = page.build_vote("b1.token", {"n-1": "approve"}, False, public)
    assert set(vote) == {"ballot_token", "sealed"}
    opened = json_.loads(SealedBox(secret).decrypt(base64.b64decode(vote["sealed"])))
    assert opened["choices"] == {"n-1": "approve"}
    assert page.receipt_of(vote) and page.receipt_of({"ballot_token": "t", "choices": {}}) is None

def test_the_ballot_shows_the_public_comment_and_each_objection_with_its_handling_never_a_contact():
    """NĐ 98 Art. 46: the council sees the comments and their handling before it votes."""
    comment = {"comment_until": "2026-12-05T16:59:59+00:00", "objections": [
        {"objection_id": "o-1", "name": "Trần <b>B</b>", "text": "Thành tích kê khai chưa đúng <script>x</script>",
         "channel": "paper", "received_at": "2026-12-01T02:00:00+00:00", "status": "resolved",
         "handling": "Đã xác minh: kê khai đúng.", "handled_at": "2026-12-02T02:00:00+00:00"}]}
    order = page.agenda_item(case("n-9", "Đinh Thị Mai", award="HCLD3"), "Văn phòng Bộ", "vi", comment)
    html = page.render("ballot.html.j2", lang="vi", council_name="Hội đồng", sitting_date="09/12/2026",
                       deadline="17:00, 15/12/2026", members=15, action="/ballot/t", csrf="c", switch_url="/x",
                       groups=page.groups([order, *items()], ""), choices={}, query="", total=4, missing=[],
                       written_opinion=False).decode()
    assert "05/12/2026" in html and "Thành tích kê khai chưa đúng &lt;script&gt;" in html and "<script>x" not in html
    assert "Trần &lt;b&gt;B&lt;/b&gt;" in html and "Đã xác minh: kê khai đúng." in html
    assert html.count("Lấy ý kiến công khai") == 1  # only the item that had a period
    english = page.agenda_item(case("n-9", "Đinh Thị Mai", award="HCLD3"), "Văn phòng Bộ", "en", comment)
    assert english["public_comment"]["objections"][0]["status"] == "Resolved"


def test_every_reason_review_refuses_a_ballot_for_is_told_to_the_member_in_both_languages():
    """A member whose cast is refused reads why, never a generic "not a valid ballot" for a ballot that was
    valid but, say, unreadable after tampering on the way or unsealed."""
    from pathlib import Path

    import services.review.sittings as sittings

    source = Path(sittings.__file__).read_text(encoding="utf-8")
    reasons = set(re.findall(r'"([a-z]+_ballot|unsealed)"', source))
    assert {"unreadable_ballot", "ambiguous_ballot", "replayed_ballot", "unsealed"} <= reasons
    for reason in reasons:
        told = page.REFUSALS[reason]
        assert told not in ("foreign",) and all(told in page.TEXT[lang] for lang in ("vi", "en"))
    assert "niêm phong" in page.TEXT["vi"][page.REFUSALS["unsealed"]]
