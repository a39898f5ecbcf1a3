"""The public comment page in real Chromium (issue #18): anyone reads the list of nominations under public
comment (nominee, unit, award, achievements; never a contact), opens one, files an objection with the
form, and is told it is recorded; the objection is stored with its channel and contact, and neither the
page nor the JSON feed shows the contact. A name typed by a unit with markup in it stays text.

The nomination is put under comment directly in review's database (an order under comment needs its unit
council's sitting first: tests/integration/test_public_comment.py goes that way)."""
import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
import requests

from browser_tests.conftest import ROOT

PHONE = {"width": 390, "height": 844}
NOMINEE = "<b>Phan Văn Hùng</b>"
CONTACT = "0912 345 678, hung.objector@example.vn"


def _stored(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite form


@pytest.fixture(scope="module")
def under_comment(system):
    system.tdkt("directory", "load", str(ROOT / "deploy" / "directory.sample.yml"))
    now = datetime.now(timezone.utc)
    database = system.env["REVIEW_DB_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database, timeout=30) as connection:
        connection.execute(
            "INSERT INTO cases (nomination_id, unit_id, award_code, award_year, nominee, contact_email, stage, "
            "state, received_at, rule_set, revision, considered, achievements, comment_until, comment_from) "
            "VALUES (?, 'vp', 'HCLD3', 2025, ?, 'vanphong@example.vn', 'ministry', 'public_comment', ?, "
            "'nd152-2025', 1, 1, ?, ?, ?)",
            ("n-public-1", json.dumps({"kind": "individual", "name": NOMINEE, "gender": "male"}), _stored(now),
             "Hai mươi năm công tác xuất sắc", _stored(now + timedelta(days=14)), _stored(now - timedelta(hours=1))))
    return database


def test_anyone_reads_the_list_and_files_an_objection_that_is_kept_but_never_shown(system, browser, under_comment,
                                                                                    artifacts):
    page = browser.new_page(viewport=PHONE)
    response = page.goto(f"{system.public_url}/public/comment")
    assert response.status == 200
    listed = page.locator("a", has_text=NOMINEE)  # the markup a unit typed is shown as text
    assert listed.count() == 1 and page.locator("table b").count() == 0
    assert "Văn phòng Bộ" in page.content() and "Hai mươi năm công tác xuất sắc" in page.content()
    page.screenshot(path=str(artifacts / "public-comment-list-390.png"), full_page=True)

    listed.click()
    page.wait_for_selector("form")
    assert page.locator("label[for=contact]").count() == 1  # every field has its label
    page.fill("#name", "Trần Văn B")
    page.fill("#contact", CONTACT)
    page.fill("#text", "Thành tích năm 2024 kê khai chưa đúng.")
    page.screenshot(path=str(artifacts / "public-comment-form-390.png"), full_page=True)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "Ý kiến của bạn đã được ghi nhận" in page.content()

    with sqlite3.connect(under_comment, timeout=30) as connection:
        rows = connection.execute("SELECT name, contact, text, channel, status FROM objections "
                                  "WHERE nomination_id = 'n-public-1'").fetchall()
    assert rows == [("Trần Văn B", CONTACT, "Thành tích năm 2024 kê khai chưa đúng.", "web", "open")]
    item = page.goto(f"{system.public_url}/public/comment/n-public-1")
    assert item.ok and "0912 345 678" not in page.content() and "kê khai chưa đúng" not in page.content()
    feed = requests.get(f"{system.public_url}/public/comment.json", timeout=10).text
    assert "n-public-1" in feed and "0912 345 678" not in feed and "objector" not in feed
