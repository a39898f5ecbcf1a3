"""A closed sitting's documents on a real broker, database and LibreOffice: made when the sitting closes,
served by RPC, announced once with the minutes attached; and the service keeps answering RPCs and counting
votes while LibreOffice works (held at a gate the test opens)."""
import base64
import io
import json
import shutil
import time
import unicodedata

from datetime import datetime

import pytest
from docx import Document
from pypdf import PdfReader

from services.review.documents.content import VIETNAM, vnd
from services.review.service import ReviewService
from shared.law.money import award_money
from shared.law.rulesets import by_id
from shared.contract.errors import Conflict, NotFound, ValidationError
from tests.harness import wait_until
from tests.integration.delivery import Tap
from tests.integration.review_support import TOMORROW, Review, directory, submitted

pytestmark = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is installed by .ci/run")


def text_of(document: dict) -> str:
    data = base64.b64decode(document["content_base64"])
    if document["filename"].endswith(".pdf"):
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    else:
        text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
        text += "\n".join(c.text for t in Document(io.BytesIO(data)).tables for r in t.rows for c in r.cells)
    return " ".join(unicodedata.normalize("NFC", text).split())


def documents_done(review, sitting_id):
    listing = review.call("sitting_documents", sitting_id)
    return listing if listing and all(d["formats"] == ["docx", "pdf"] for d in listing) else None


def vote_all(review, sitting_id, members, choice="approve"):
    ballots = wait_until(lambda: len(review.ballots(sitting_id)) == members and review.ballots(sitting_id),
                         what="every member's ballot")
    for ballot in ballots.values():
        review.vote(ballot["ballot_token"], {item["nomination_id"]: choice for item in ballot["agenda"]})


@pytest.fixture
def gated_review(container_factory, rabbit_config, service_env, tmp_path, monkeypatch):
    """Review whose LibreOffice waits until the test creates ``gate`` (and says when it started)."""
    gate, started = tmp_path / "gate", tmp_path / "started"
    wrapper = tmp_path / "soffice-at-a-gate"
    wrapper.write_text(f'#!/bin/sh\ntouch "{started}"\nwhile [ ! -e "{gate}" ]; do sleep 0.05; done\n'
                       f'exec soffice "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("TDKT_SOFFICE", str(wrapper))
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    review = Review(container, rabbit_config)
    review.call("load_directory", directory())
    review.gate, review.started = gate, started
    yield review
    gate.touch()
    review.close()


def test_a_closed_unit_sitting_yields_minutes_and_a_draft_decision_as_docx_and_pdf(review, rabbit_config):
    ready = Tap(rabbit_config["AMQP_URI"], "review", "sitting_documents_ready")
    review.submit(submitted("n-ld", "LDTT", gender="female"))
    review.submit(submitted("n-cs", "CSTDCS"))
    sitting = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    with pytest.raises(Conflict):
        review.call("sitting_documents", sitting)  # nothing before the close
    vote_all(review, sitting, 7)

    listing = wait_until(lambda: documents_done(review, sitting), timeout=60, what="documents rendered")
    assert [d["kind"] for d in listing] == ["minutes", "decision"]
    minutes = review.call("sitting_document", sitting, "minutes", "pdf")
    assert minutes["content_type"] == "application/pdf" and minutes["filename"] == f"bien-ban-{sitting}.pdf"
    text = text_of(minutes)
    assert "Hội đồng vp" in text and "Người n-ld" in text and "Người n-cs" in text and "100%" in text
    decision = review.call("sitting_document", sitting, "decision", "docx")
    assert decision["filename"].endswith(".docx")
    cstdcs = award_money(by_id("nd152-2025"), "CSTDCS", "individual", datetime.now(VIETNAM).date())
    assert "Người n-ld" in text_of(decision) and vnd(cstdcs) in text_of(decision)  # 1.0 × today's base salary
    assert review.call("sitting_document", sitting, "decision", "docx") == decision  # the same, asked again
    with pytest.raises(NotFound):
        review.call("sitting_document", sitting, "proposal", "pdf")  # nothing went up
    with pytest.raises(ValidationError):
        review.call("sitting_document", sitting, "letter", "pdf")

    [event] = wait_until(lambda: ready.get_all(), what="sitting_documents_ready")
    ready.close()
    body = json.loads(event.body)
    assert body["sitting_id"] == sitting and body["units"][0]["unit_id"] == "vp"
    assert body["minutes"]["content_base64"] == minutes["content_base64"]


def test_the_service_answers_rpcs_and_counts_votes_while_a_sittings_documents_render(gated_review):
    review = gated_review
    review.submit(submitted("n-bk", "BK_BO"))
    review.submit(submitted("n-tq", "CSTD_TQ"))
    unit_sitting = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    vote_all(review, unit_sitting, 7)
    wait_until(review.started.exists, timeout=30, what="LibreOffice started on the unit sitting")

    began = time.monotonic()
    assert review.call("sitting_result", unit_sitting)["status"] == "closed"
    assert [d["formats"] for d in review.call("sitting_documents", unit_sitting)] == [[], []]  # still rendering
    assert time.monotonic() - began < 3
    ministry_sitting = review.call("convene_sitting", "hd-bo", TOMORROW)["sitting_id"]
    vote_all(review, ministry_sitting, 15)  # fifteen votes counted while LibreOffice is held
    result = review.call("sitting_result", ministry_sitting)
    assert result["status"] == "closed" and {i["outcome"] for i in result["items"]} == {"approved", "proposed"}
    assert not review.gate.exists()  # all of the above happened with the render in progress

    review.gate.touch()
    assert [d["kind"] for d in wait_until(lambda: documents_done(review, unit_sitting), timeout=60)] == [
        "minutes", "proposal"]
    kinds = [d["kind"] for d in wait_until(lambda: documents_done(review, ministry_sitting), timeout=60)]
    assert kinds == ["minutes", "proposal", "decision"]
    proposal = text_of(review.call("sitting_document", ministry_sitting, "proposal", "pdf"))
    assert "Thủ tướng Chính phủ" in proposal and "Người n-tq" in proposal
