"""The ballot page over real HTTP against a running review container on a real broker and database: a GET
never casts, a genuine POST casts once through council.vote_cast and says "recorded", a replay, a forged
cross-site POST, a foreign or expired token and an oversized body are each refused."""
import logging
from datetime import datetime, timedelta, timezone

import pytest
import requests

from services.review import ballot_page
from shared.platform.config import LOCAL_SECRET_KEY
from tests.harness import free_port, wait_until
from tests.integration.review_support import TOMORROW, Review, directory, submitted


def convened(container_factory, rabbit_config, monkeypatch, nominations=(("n-1", "LDTT"), ("n-2", "CSTDCS")),
             public_url=None):
    """A review container serving the page on a port of its own, and a sitting of council hd-vp (three
    members) convened on ``nominations``: ``(review, port, sitting_id, ballots by member)``."""
    port = free_port()
    monkeypatch.setenv("TDKT_HTTP_PORT", str(port))
    monkeypatch.setenv("TDKT_PUBLIC_URL", public_url or f"http://127.0.0.1:{port}")
    from services.review.service import ReviewService
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    review = Review(container, rabbit_config)
    review.call("load_directory", directory(unit_members=3))
    for nomination_id, award in nominations:
        review.submit(submitted(nomination_id, award))
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    issued = wait_until(lambda: len(review.ballots(sitting_id)) == 3 and review.ballots(sitting_id))
    return review, port, sitting_id, issued


@pytest.fixture
def page(container_factory, rabbit_config, service_env, monkeypatch):
    review, port, sitting_id, issued = convened(container_factory, rabbit_config, monkeypatch)
    yield review, port, sitting_id, issued
    review.close()


def form_of(token, **fields):
    return {"csrf": ballot_page.csrf_field(LOCAL_SECRET_KEY, token), **fields}


def test_a_member_reads_reviews_and_casts_once_and_the_tally_counts_it(page, caplog):
    review, port, sitting_id, issued = page
    ballot = issued["m-vp-1"]
    url = ballot["ballot_url"]
    assert url == f"http://127.0.0.1:{port}/ballot/{ballot['ballot_token']}"
    caplog.set_level(logging.DEBUG)

    shown = requests.get(url, timeout=10)
    assert shown.status_code == 200 and "Hội đồng vp" in shown.text and "Người n-1" in shown.text
    assert 'name="n-1" value="approve"' in shown.text and 'name="n-2" value="abstain"' in shown.text
    assert shown.headers["Cache-Control"] == "no-store" and "script-src" not in shown.headers["Content-Security-Policy"]
    assert shown.headers["Referrer-Policy"] == "no-referrer" and shown.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(url, timeout=10).status_code == 200  # a GET never uses the ballot up

    incomplete = requests.post(url, data=form_of(ballot["ballot_token"], action="review", **{"n-1": "approve"}),
                               headers={"Sec-Fetch-Site": "same-origin"}, timeout=10)
    assert incomplete.status_code == 200 and "Còn 1 hồ sơ chưa chọn" in incomplete.text
    choices = {"n-1": "approve", "n-2": "reject"}
    confirm = requests.post(url, data=form_of(ballot["ballot_token"], action="review", **choices), timeout=10)
    assert 'value="cast"' in confirm.text and '<input type="hidden" name="n-2" value="reject">' in confirm.text

    cast = form_of(ballot["ballot_token"], action="cast", **choices)
    recorded = requests.post(url, data=cast, headers={"Sec-Fetch-Site": "same-origin"}, timeout=20)
    assert recorded.status_code == 200 and "đã được ghi nhận" in recorded.text

    replayed = requests.post(url, data=cast, timeout=20)
    assert replayed.status_code == 409 and "đã bỏ phiếu" in replayed.text
    again = requests.get(url + "?lang=en", timeout=10)
    assert "already voted" in again.text and "reject" not in again.text and 'type="radio"' not in again.text
    review.call("close_sitting", sitting_id)
    result = review.call("sitting_result", sitting_id)
    assert result["participants"] == 1
    assert {i["nomination_id"]: (i["approve"], i["reject"]) for i in result["items"]} == {"n-1": (1, 0), "n-2": (0, 1)}
    service_lines = [r.getMessage() for r in caplog.records if not r.name.startswith("urllib3")]
    assert not [line for line in service_lines if ballot["ballot_token"] in line]


def test_forged_foreign_expired_and_oversized_requests_are_refused(page):
    review, port, sitting_id, issued = page
    token = issued["m-vp-2"]["ballot_token"]
    url = f"http://127.0.0.1:{port}/ballot/{token}"
    choices = {"n-1": "approve", "n-2": "approve"}
    cross_site = requests.post(url, data=form_of(token, action="cast", **choices),
                               headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
    no_csrf = requests.post(url, data={"action": "cast", **choices}, timeout=10)
    assert (cross_site.status_code, no_csrf.status_code) == (403, 403)
    foreign = requests.get(f"http://127.0.0.1:{port}/ballot/{token[:-3]}abc", timeout=10)
    assert foreign.status_code == 403
    huge = requests.post(url, data={"csrf": "x" * (ballot_page.MAX_BODY + 1)}, timeout=10)
    assert huge.status_code == 413 and "Traceback" not in huge.text
    assert requests.get(url, timeout=10).status_code == 200  # still open to its member
    review.call("close_sitting", sitting_id)
    assert review.call("sitting_result", sitting_id)["participants"] == 0
    closed = requests.get(url, timeout=10)
    assert closed.status_code == 409 and "Phiên họp đã kết thúc" in closed.text


def test_a_token_past_its_sittings_deadline_is_refused_as_expired(page):
    import sqlalchemy as sa

    from shared.platform.store import Store

    review, port, sitting_id, issued = page
    store = next(dep for dep in review.container.dependencies if isinstance(dep, Store))
    with store.engine.begin() as connection:  # the deadline passed a moment ago (the timer closes it soon)
        connection.execute(sa.text("UPDATE sittings SET deadline = :past WHERE id = :id"),
                           {"past": datetime.now(timezone.utc) - timedelta(minutes=1), "id": sitting_id})
    expired = requests.get(f"http://127.0.0.1:{port}/ballot/{issued['m-vp-3']['ballot_token']}", timeout=10)
    assert (expired.status_code, "hết hạn" in expired.text) == (410, True) or \
        (expired.status_code, "đã kết thúc" in expired.text) == (409, True)


def test_a_cast_overtaken_by_another_of_the_members_ballots_shows_no_receipt(page):
    """A member taps "Bỏ phiếu" twice (a phone, a slow answer), or votes in two tabs: the other ballot
    is counted while this POST is in flight, and review refuses this one as already voted. The page must
    not say "recorded" with this ballot's receipt: the member would not find it in the list published at
    the close and believe their vote was dropped."""
    import re

    from services.review.web import BallotPage

    review, port, sitting_id, issued = page
    token = issued["m-vp-1"]["ballot_token"]
    ballot_page_dep = next(dep for dep in review.container.dependencies if isinstance(dep, BallotPage))
    publish = ballot_page_dep.publish

    def overtaken(payload):  # the member's other POST reaches review first
        review.vote(token, {"n-1": "approve", "n-2": "reject"})
        publish(payload)

    ballot_page_dep.publish = overtaken
    answer = requests.post(f"http://127.0.0.1:{port}/ballot/{token}", timeout=30,
                           data=form_of(token, action="cast", **{"n-1": "approve", "n-2": "reject"}))
    review.call("close_sitting", sitting_id)
    published = wait_until(lambda: review.events("receipts_published"))[0]["codes"]
    shown = re.findall(r"[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}", answer.text)
    assert len(published) == 1 and not set(shown) - set(published)
    assert answer.status_code == 409 and "đã bỏ phiếu" in answer.text


def test_a_malformed_request_line_never_writes_its_token_anywhere_and_its_error_says_nothing_of_the_server(
        page, capfd, caplog):
    """Python's http.server answers a request line it cannot parse itself and writes that line, the
    member's token with it, straight to stderr, past the service's logs and their redaction."""
    import socket

    review, port, sitting_id, issued = page
    token = issued["m-vp-1"]["ballot_token"]
    caplog.set_level(logging.DEBUG)

    def raw(request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(request)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        return answer

    answers = [raw(f"GET /ballot/{token} HTTP/1.1 x\r\n\r\n".encode()),
               raw(f"GET /ballot/{token} HTTP/2.0\r\n\r\n".encode()),
               raw(f"GET /ballot/{token} HTTP/1.1\r\n".encode() + b"X: y\r\n" * 120 + b"\r\n")]
    written = capfd.readouterr()
    assert token not in written.out + written.err
    assert not [r for r in caplog.records if token in r.getMessage()]
    for answer in answers:
        assert b"Python" not in answer and b"BaseHTTP" not in answer and b"Error code explanation" not in answer
        assert answer.startswith(b"HTTP/1.") and b"X-Content-Type-Options: nosniff" in answer
        assert b"Cache-Control: no-store" in answer and b"Content-Security-Policy: default-src 'none'" in answer


def test_a_nomination_withdrawn_while_the_sitting_is_open_is_marked_so_on_the_ballot(page):
    """The unit withdraws a dossier after the sitting was convened: it stays on the agenda (every ballot
    covers every item) but its marks are ignored. A member must not read it as a dossier to decide."""
    import uuid

    from nameko.testing.services import entrypoint_waiter

    review, port, sitting_id, issued = page
    with entrypoint_waiter(review.container, "on_nomination_withdrawn", timeout=15):
        review.intake("nomination_withdrawn", {"nomination_id": "n-2", "unit_id": "vp", "reason": "rút"},
                      str(uuid.uuid4()), {})
    url = issued["m-vp-1"]["ballot_url"]
    shown = requests.get(url, timeout=10).text
    article = shown[shown.index('id="n-n-2"'):]
    article = article[:article.index("</article>")]
    assert "Đơn vị đã rút hồ sơ này" in article and "Đơn vị đã rút" not in shown[:shown.index('id="n-n-2"')]
    assert "withdrawn it" in requests.get(url + "?lang=en", timeout=10).text
    token = issued["m-vp-1"]["ballot_token"]
    confirm = requests.post(url, data=form_of(token, action="review", **{"n-1": "approve", "n-2": "approve"}),
                            timeout=10).text
    assert "Đơn vị đã rút hồ sơ này" in confirm


def test_behind_a_proxy_under_a_path_the_page_links_and_posts_under_that_path(
        container_factory, rabbit_config, service_env, monkeypatch):
    """``TDKT_PUBLIC_URL=https://portal.example.vn/tdkt``: the proxy strips ``/tdkt`` before review. The
    form, the stylesheet and the language switch must stay under ``/tdkt``: a form posting to the portal's
    own ``/ballot/TOKEN`` loses the vote and hands the token to another application's access log."""
    import re

    review, port, sitting_id, issued = convened(container_factory, rabbit_config, monkeypatch, [("n-1", "LDTT")],
                                                "https://portal.example.vn/tdkt/")
    try:
        ballot = issued["m-vp-1"]
        token = ballot["ballot_token"]
        assert ballot["ballot_url"] == f"https://portal.example.vn/tdkt/ballot/{token}"
        shown = requests.get(f"http://127.0.0.1:{port}/ballot/{token}", timeout=10).text  # as the proxy forwards
        links = re.findall(r'(?:href|action)="([^"]+)"', shown)
        assert f'action="/tdkt/ballot/{token}"' in shown and 'href="/tdkt/ballot-static/ballot.css"' in shown
        assert all(link.startswith(("/tdkt/", "#")) for link in links), links
    finally:
        review.close()


def test_approve_all_remaining_in_a_filtered_group_approves_only_the_dossiers_shown(
        container_factory, rabbit_config, service_env, monkeypatch):
    """A member filters a group down to the dossier they have read and presses "approve all remaining in
    this group" under a heading that counts the dossiers shown: the one filtered out stays unmarked,
    never approved unseen."""
    review, port, sitting_id, issued = convened(container_factory, rabbit_config, monkeypatch,
                                                [("n-1", "LDTT"), ("n-3", "LDTT")])
    try:
        ballot = issued["m-vp-1"]
        shown = requests.post(ballot["ballot_url"], timeout=10, data=form_of(
            ballot["ballot_token"], action="group:vp/LDTT", q="Người n-1")).text
        assert "Hội đồng vp" in shown and "(1)</h3>" in shown  # the group's heading counts one dossier
        assert 'name="n-1" value="approve" checked' in shown
        assert 'name="n-3" value="approve"' not in shown  # filtered out: not marked, not even hidden
    finally:
        review.close()
