"""A council member votes in real Chromium from the link of the real invitation mail the SMTP sink caught:
reads the dossier, approves a group, reviews, goes back, casts, sees "recorded", and the tally counts it;
a second visit says "already voted"; a replayed POST, a forged cross-site POST, an expired and a foreign
token are refused. Screenshots at 390 px and desktop widths go to var/artifacts/."""
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from browser_tests.conftest import ballot_link, free_port

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def sitting(system):
    """``tdkt demo --no-vote`` for one unit: its council's sitting is open, the invitations mailed."""
    out = system.tdkt("demo", "--units", "1", "--per-unit", "3", "--no-vote")
    sitting_id = re.search(r"sitting ([0-9a-f]{32}) open", out).group(1)
    return sitting_id, system.invitations(7)


def open_ballot(browser, url, viewport):
    page = browser.new_page(viewport=viewport)
    response = page.goto(url)
    return page, response


class Attacker(BaseHTTPRequestHandler):
    """Another site's page with a form that posts a vote to the member's ballot."""

    form = ""

    def do_GET(self):
        body = self.form.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_forged_cross_site_post_and_foreign_tokens_are_refused(system, browser, sitting, artifacts):
    sitting_id, invitations = sitting
    url = ballot_link(invitations["loanpn.vp@example.vn"])
    page, response = open_ballot(browser, url, DESKTOP)
    assert response.status == 200
    page.screenshot(path=str(artifacts / "ballot-desktop.png"), full_page=True)
    csrf = page.locator("input[name=csrf]").get_attribute("value")
    ids = [n.get_attribute("name") for n in page.locator("input[type=radio][value=approve]").all()]

    fields = "".join(f'<input name="{nid}" value="approve">' for nid in ids)
    Attacker.form = (f'<form method="post" action="{url}"><input name="csrf" value="{csrf}">{fields}'
                     '<input name="action" value="cast"><button>Win a prize</button></form>')
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Attacker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        evil = browser.new_page()
        evil.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        with evil.expect_navigation():
            evil.get_by_role("button", name="Win a prize").click()
        assert "Yêu cầu không hợp lệ" in evil.content()
    finally:
        server.shutdown()
    assert page.goto(url).status == 200  # the ballot is still the member's to cast

    token = url.rsplit("/", 1)[1]
    foreign = browser.new_page().goto(url[: -len(token)] + token[:-4] + "AAAA")
    assert foreign.status == 403 and "không phải là phiếu bầu hợp lệ" in foreign.text()
    from services.review import ballots

    never_issued = browser.new_page().goto(f"{system.public_url}/ballot/{ballots.issue()}")  # well formed, unknown
    assert never_issued.status == 403 and "không phải là phiếu bầu hợp lệ" in never_issued.text()
    # a token past its sitting's deadline (410, "hết hạn"): tests/integration/test_ballot_page.py


def test_a_member_votes_from_the_invitation_and_the_tally_counts_it(system, browser, sitting, artifacts):
    sitting_id, invitations = sitting
    invitation = invitations["huylh.vp@example.vn"]
    url = ballot_link(invitation)
    assert url.startswith(system.public_url + "/ballot/")

    page, response = open_ballot(browser, url, PHONE)
    assert response.status == 200 and response.headers["cache-control"] == "no-store"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Phiếu bầu: Hội đồng Thi đua")
    assert page.get_by_role("radio", name="Đồng ý", exact=True).count() == 3
    assert page.get_by_role("radio", name="Không đồng ý", exact=True).count() == 3
    page.screenshot(path=str(artifacts / "ballot-390.png"), full_page=True)
    page.locator("details.more summary").first.click()  # the dossier of the first item
    assert page.get_by_text("Tờ trình: to-trinh.pdf").first.is_visible()
    page.screenshot(path=str(artifacts / "ballot-390-dossier.png"), full_page=True)

    page.get_by_role("button", name="Đồng ý tất cả hồ sơ còn lại của nhóm này").first.click()
    checked = page.locator("input[type=radio]:checked").count()
    assert checked >= 1
    for group in page.locator("fieldset.choice").all():  # whatever is left: abstain
        if group.locator("input:checked").count() == 0:
            group.get_by_label("Không biểu quyết").check()
    page.get_by_role("button", name="Xem lại trước khi bỏ phiếu").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Xem lại phiếu bầu")
    page.screenshot(path=str(artifacts / "ballot-390-review.png"), full_page=True)
    page.get_by_role("button", name="Quay lại sửa").first.click()  # back, with the choices kept
    assert page.locator("input[type=radio]:checked").count() == 3
    page.get_by_role("button", name="Xem lại trước khi bỏ phiếu").click()
    twin = browser.new_page(viewport=DESKTOP)  # the same review step in a second tab, to replay later
    twin.goto(url)
    for group in twin.locator("fieldset.choice").all():
        group.get_by_label("Không biểu quyết").check()
    twin.get_by_role("button", name="Xem lại trước khi bỏ phiếu").click()
    page.get_by_role("button", name="Bỏ phiếu", exact=True).first.click()
    assert page.get_by_role("status").inner_text().startswith("Phiếu bầu của Ông/Bà đã được ghi nhận")
    page.screenshot(path=str(artifacts / "ballot-390-recorded.png"), full_page=True)

    twin.get_by_role("button", name="Bỏ phiếu", exact=True).first.click()  # a second cast of the ballot
    assert "đã bỏ phiếu tại phiên họp này" in twin.get_by_role("alert").inner_text()

    again, response = open_ballot(browser, url, DESKTOP)
    assert response.status == 409 and "đã bỏ phiếu" in again.content()
    assert again.locator("input[type=radio]").count() == 0  # never the choices

    system.tdkt("sitting", "close", sitting_id)
    result = system.tdkt("sitting", "result", sitting_id, "--csv")
    rows = result.strip().splitlines()[1:]
    header = result.lstrip("\ufeff").splitlines()[0].split(",")
    votes = [dict(zip(header, row.split(","))) for row in rows]
    assert len(votes) == 3 and all(sum(int(v[c]) for c in ("approve", "reject", "abstain")) == 1 for v in votes)
