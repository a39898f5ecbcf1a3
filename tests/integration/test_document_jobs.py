"""The documents relay on a real database (SQLite and PostgreSQL): a closed sitting's job is rendered once,
stored with its event in one transaction; a failed render is retried later and never lost. LibreOffice is
replaced by a fake here (the rendering itself is tests/integration/test_document_rendering.py).

Long because a job's whole life (claimed alone or in a batch, failed, retried, made again, gathered with
others) is tested here with one set of fixtures, which other files import."""
import base64
import io
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from docx import Document

from services.review.documents import jobs
from services.review.models import agenda, cases, councils, objections, roster, sittings, units
from services.review.service import MIGRATIONS
from shared.law.rulebook import with_overrides
from shared.platform.store import OUTBOX
from tests.integration.delivery import Tables

CLOSED = datetime(2025, 12, 3, 9, 30, tzinfo=timezone.utc)


class Converter:
    """LibreOffice's stand-in: fails every batch (``fail``), or each batch holding a document of one of
    the ``bad`` sittings."""

    def __init__(self, fail=False, bad=()):
        self.fail, self.bad, self.batches = fail, set(bad), []

    def to_pdf(self, documents):
        self.batches.append(sorted(documents))
        if self.fail or {name.split(".")[0] for name in documents} & self.bad:
            raise jobs.RenderError("LibreOffice exited 1")
        return {name: b"%PDF-1.7 " + name.encode() for name in documents}


@pytest.fixture
def review_db(db_urls):
    tables = Tables(db_urls["review"], MIGRATIONS)
    with tables.sessions() as session, session.begin():
        session.execute(sa.insert(units), [{"id": "bo", "name": "Bộ", "email": None, "parent": None},
                                           {"id": "vp", "name": "Văn phòng Bộ", "email": "vp@example.vn", "parent": "bo"}])
        session.execute(sa.insert(councils).values(id="hd-vp", name="Hội đồng TĐKT Văn phòng Bộ", level="unit",
                                                   unit_id="vp"))
        session.execute(sa.insert(sittings).values(
            id="s-1", council_id="hd-vp", stage="unit", status="closed", members_total=3, deadline=CLOSED,
            convened_at=CLOSED - timedelta(days=2), closed_at=CLOSED, quorum_met=True))
        session.execute(sa.insert(roster), [{"sitting_id": "s-1", "member_id": f"m-{i}", "name": f"Thành viên {i}",
                                             "email": f"m{i}@example.vn", "role": "chair" if i == 1 else "member",
                                             "voted": True, "written_opinion": False} for i in (1, 2, 3)])
        session.execute(sa.insert(cases).values(
            nomination_id="n-1", unit_id="vp", award_code="LDTT", award_year=2025, contact_email="vp@example.vn",
            nominee={"kind": "individual", "name": "Nguyễn Thị Hoà", "gender": "female"}, stage="unit",
            state="decided", received_at=CLOSED, rule_set="nd152-2025", outcome="approved"))
        session.execute(sa.insert(agenda).values(sitting_id="s-1", nomination_id="n-1", award_code="LDTT",
                                                 approve=3, reject=0, abstain=0, required=2, outcome="approved"))
        jobs.request(session, "s-1", CLOSED)
    yield tables
    tables.dispose()


def step(tables, converter):
    return jobs.make_step(tables.sessions, tables.uow, with_overrides(None), converter)()


def job(tables):
    with tables.sessions() as session:
        return dict(session.execute(sa.select(jobs.document_jobs)).mappings().one())


def test_a_closed_sittings_documents_are_rendered_once_and_announced_with_the_minutes(review_db):
    converter = Converter()
    assert step(review_db, converter) == 1
    assert converter.batches == [["s-1.decision", "s-1.minutes"]]
    assert job(review_db)["status"] == "done" and job(review_db)["kinds"] == ["minutes", "decision"]
    assert review_db.count("documents") == 4 and review_db.count("outbox") == 1
    with review_db.sessions() as session:
        [(event_type, payload)] = session.execute(sa.select(OUTBOX.c.event_type, OUTBOX.c.payload)).all()
    assert event_type == "sitting_documents_ready" and payload["units"] == [
        {"unit_id": "vp", "name": "Văn phòng Bộ", "email": "vp@example.vn"}]
    assert step(review_db, converter) == 0  # nothing left to do
    pdf = jobs.get_document("s-1", "minutes", "pdf", review_db.uow())
    assert pdf["filename"] == "bien-ban-s-1.pdf" and payload["minutes"] == pdf


def test_a_failed_render_waits_and_is_tried_again_then_failed_then_queued_again_on_demand(review_db):
    failing = Converter(fail=True)
    assert step(review_db, failing) == 1
    first = job(review_db)
    assert (first["status"], first["attempts"], first["error"]) == ("pending", 1, "LibreOffice exited 1")
    assert step(review_db, failing) == 0  # not due yet: the next try is 30 s later
    assert review_db.count("documents") == 0 and review_db.count("outbox") == 0
    with pytest.raises(jobs.Conflict):
        jobs.get_document("s-1", "minutes", "pdf", review_db.uow())

    for attempt in range(2, jobs.MAX_ATTEMPTS + 1):
        with review_db.sessions() as session, session.begin():  # its time has come
            session.execute(sa.update(jobs.document_jobs).values(next_attempt_at=CLOSED))
        step(review_db, failing)
    assert (job(review_db)["status"], job(review_db)["attempts"]) == ("failed", jobs.MAX_ATTEMPTS)

    listing = jobs.list_documents("s-1", review_db.uow())  # the operator asks: it is queued again
    assert listing == [{"kind": "minutes", "formats": [], "status": "pending"},
                       {"kind": "decision", "formats": [], "status": "pending"}]
    assert step(review_db, Converter()) == 1 and job(review_db)["status"] == "done"
    assert [d["formats"] for d in jobs.list_documents("s-1", review_db.uow())] == [["docx", "pdf"]] * 2


def test_documents_made_again_on_demand_are_the_same_served_meanwhile_and_not_announced_twice(review_db):
    step(review_db, Converter())
    before = jobs.get_document("s-1", "decision", "docx", review_db.uow())
    listing = jobs.render_again("s-1", review_db.uow())
    assert {d["status"] for d in listing} == {"pending"}
    assert jobs.get_document("s-1", "decision", "docx", review_db.uow()) == before  # served while it renders
    assert step(review_db, Converter()) == 1 and job(review_db)["status"] == "done"
    assert jobs.get_document("s-1", "decision", "docx", review_db.uow()) == before  # the same bytes
    with review_db.sessions() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(OUTBOX)).scalar() == 1  # announced once


def minutes_text(tables) -> str:
    data = base64.b64decode(jobs.get_document("s-1", "minutes", "docx", tables.uow())["content_base64"])
    document = Document(io.BytesIO(data))
    return unicodedata.normalize("NFC", "\n".join(p.text for p in document.paragraphs))


def test_the_minutes_carry_the_public_comment_as_it_stood_at_the_close_and_the_register_checks_notes(review_db):
    note = {"code": "declared_before_register", "title": "LDTT", "year": 2019, "message": "Danh hiệu LDTT năm 2019 "
            "có trước năm đầu của sổ khen thưởng: ghi nhận theo kê khai của đơn vị.", "message_en": "taken as declared"}
    with review_db.sessions() as session, session.begin():
        session.execute(sa.update(cases).values(comment_until=CLOSED - timedelta(days=3), register_notes=[note]))
        session.execute(sa.insert(objections), [
            {"id": "o-1", "nomination_id": "n-1", "name": "Người Góp Ý", "contact": "x@example.vn",
             "text": "Thành tích kê khai chưa đúng.", "channel": "web", "received_at": CLOSED - timedelta(days=5),
             "status": "resolved", "handling": "Đã xác minh, thành tích đúng.", "handled_at": CLOSED - timedelta(days=4)},
            {"id": "o-2", "nomination_id": "n-1", "name": "Người Thứ Hai", "contact": "z@example.vn",
             "text": "Chưa xử lý khi họp.", "channel": "paper", "received_at": CLOSED - timedelta(days=4),
             "status": "open", "handling": None, "handled_at": None},
            {"id": "o-3", "nomination_id": "n-1", "name": "Người Sau", "contact": "y@example.vn",
             "text": "Gửi sau phiên họp.", "channel": "paper", "received_at": CLOSED + timedelta(days=1),
             "status": "open", "handling": None, "handled_at": None}])
    step(review_db, Converter())
    text = minutes_text(review_db)
    assert "Nguyễn Thị Hoà (Lao động tiên tiến, Văn phòng Bộ): lấy ý kiến đến ngày 30/11/2025; 2 ý kiến" in text
    assert "Thành tích kê khai chưa đúng. — Xử lý: đã xem xét, giải quyết: Đã xác minh, thành tích đúng." in text
    assert "Chưa xử lý khi họp. — Xử lý: chưa xử lý xong." in text
    assert "Gửi sau phiên họp" not in text and "Người Góp Ý" not in text and "x@example.vn" not in text
    assert "Danh hiệu LDTT năm 2019 có trước năm đầu của sổ khen thưởng" in text

    with review_db.sessions() as session, session.begin():  # handled after the close: the minutes stay as they were
        session.execute(sa.update(objections).where(objections.c.id == "o-2").values(
            status="upheld", handling="Sau phiên họp", handled_at=CLOSED + timedelta(days=2)))
    jobs.render_again("s-1", review_db.uow())
    step(review_db, Converter())
    assert minutes_text(review_db) == text


def test_a_failed_job_is_tried_again_by_itself_hours_later_and_its_minutes_are_still_mailed(review_db):
    failing = Converter(fail=True)
    for _ in range(jobs.MAX_ATTEMPTS):
        with review_db.sessions() as session, session.begin():
            session.execute(sa.update(jobs.document_jobs).values(next_attempt_at=CLOSED))
        step(review_db, failing)
    parked = job(review_db)
    assert parked["status"] == "failed"  # visible as failed, yet not given up: nobody may ever ask for it
    assert timedelta(0) < jobs.utc(parked["next_attempt_at"]) - datetime.now(timezone.utc) <= jobs.MAX_RETRY_DELAY
    with review_db.sessions() as session, session.begin():  # hours later, LibreOffice is back
        session.execute(sa.update(jobs.document_jobs).values(next_attempt_at=CLOSED))
    assert step(review_db, Converter()) == 1 and job(review_db)["status"] == "done"
    with review_db.sessions() as session:
        assert session.execute(sa.select(OUTBOX.c.event_type)).scalars().all() == ["sitting_documents_ready"]


def close_more_sittings(tables, count: int) -> list[str]:
    """``count`` more closed sittings of the same council, each with one decided nomination and its job."""
    ids = [f"s-{n}" for n in range(2, count + 2)]
    with tables.sessions() as session, session.begin():
        for sitting_id in ids:
            session.execute(sa.insert(sittings).values(
                id=sitting_id, council_id="hd-vp", stage="unit", status="closed", members_total=3, deadline=CLOSED,
                convened_at=CLOSED - timedelta(days=2), closed_at=CLOSED, quorum_met=True))
            session.execute(sa.insert(roster), [{"sitting_id": sitting_id, "member_id": f"m-{i}", "name": f"TV {i}",
                                                 "email": f"m{i}@example.vn", "role": "chair" if i == 1 else "member",
                                                 "voted": True, "written_opinion": False} for i in (1, 2, 3)])
            session.execute(sa.insert(cases).values(
                nomination_id=f"n-{sitting_id}", unit_id="vp", award_code="LDTT", award_year=2025,
                contact_email="vp@example.vn", nominee={"kind": "individual", "name": "Trần Văn Bình"}, stage="unit",
                state="decided", received_at=CLOSED, rule_set="nd152-2025", outcome="rejected"))
            session.execute(sa.insert(agenda).values(sitting_id=sitting_id, nomination_id=f"n-{sitting_id}",
                                                     award_code="LDTT", approve=1, reject=2, abstain=0, required=2,
                                                     outcome="rejected"))
            jobs.request(session, sitting_id, CLOSED)
    return ids


def jobs_by_sitting(tables) -> dict:
    with tables.sessions() as session:
        return {row["sitting_id"]: dict(row) for row in session.execute(sa.select(jobs.document_jobs)).mappings()}


def test_sittings_closed_together_are_converted_in_one_libreoffice_run_each_announced_once(review_db):
    others = close_more_sittings(review_db, jobs.BATCH + 1)  # BATCH + 2 jobs due: a batch of BATCH, then two
    converter = Converter()
    assert step(review_db, converter) == jobs.BATCH
    assert len(converter.batches) == 1 and len(converter.batches[0]) == 2 + (jobs.BATCH - 1)
    assert step(review_db, converter) == 2 and step(review_db, converter) == 0
    assert {j["status"] for j in jobs_by_sitting(review_db).values()} == {"done"}
    for sitting_id in ["s-1", *others]:
        minutes = jobs.get_document(sitting_id, "minutes", "pdf", review_db.uow())
        assert base64.b64decode(minutes["content_base64"]) == f"%PDF-1.7 {sitting_id}.minutes".encode()
    assert review_db.count("outbox") == jobs.BATCH + 2  # one sitting_documents_ready each


def test_a_sitting_libreoffice_cannot_convert_fails_alone_and_the_rest_of_its_batch_is_stored(review_db):
    close_more_sittings(review_db, 2)
    converter = Converter(bad={"s-2"})
    assert step(review_db, converter) == 3
    assert converter.batches[0] == ["s-1.decision", "s-1.minutes", "s-2.minutes", "s-3.minutes"]
    assert sorted(converter.batches[1:]) == [["s-1.decision", "s-1.minutes"], ["s-2.minutes"], ["s-3.minutes"]]
    found = jobs_by_sitting(review_db)
    assert (found["s-1"]["status"], found["s-3"]["status"]) == ("done", "done")
    assert (found["s-2"]["status"], found["s-2"]["attempts"], found["s-2"]["error"]) == ("pending", 1, "LibreOffice exited 1")
    assert review_db.count("outbox") == 2 and step(review_db, converter) == 0


def test_a_sitting_whose_facts_cannot_be_read_is_retried_and_does_not_hold_its_batch(review_db, monkeypatch):
    close_more_sittings(review_db, 1)
    real = jobs.facts_of
    monkeypatch.setattr(jobs, "facts_of", lambda session, sitting_id, rules: (
        (_ for _ in ()).throw(KeyError("a broken row")) if sitting_id == "s-1" else real(session, sitting_id, rules)))
    converter = Converter()
    assert step(review_db, converter) == 2 and converter.batches == [["s-2.minutes"]]
    found = jobs_by_sitting(review_db)
    assert (found["s-1"]["status"], found["s-1"]["attempts"], found["s-2"]["status"]) == ("pending", 1, "done")


def test_a_lone_sitting_waits_to_be_batched_with_others_but_a_full_batch_goes_at_once(review_db):
    """At a year-end sittings close one by one: a job due alone waits ``gather`` for company (one
    LibreOffice run for several), unless a whole batch is due already."""
    from datetime import timedelta as span

    def gathering(converter):
        return jobs.make_step(review_db.sessions, review_db.uow, with_overrides(None), converter,
                              gather=span(seconds=60))()

    def due_since(seconds):
        with review_db.sessions() as session, session.begin():
            session.execute(sa.update(jobs.document_jobs).where(jobs.document_jobs.c.status == "pending")
                            .values(next_attempt_at=jobs.utcnow() - span(seconds=seconds)))

    converter = Converter()
    due_since(5)
    assert gathering(converter) == 0 and converter.batches == []  # alone, and not waited long enough
    due_since(61)
    assert gathering(converter) == 1 and jobs_by_sitting(review_db)["s-1"]["status"] == "done"

    close_more_sittings(review_db, jobs.BATCH)  # a whole batch due this instant: no waiting
    due_since(0)
    assert gathering(converter) == jobs.BATCH and len(converter.batches) == 2


def test_while_the_machine_is_busy_due_documents_wait_for_a_quiet_moment_at_most_the_quiet_wait(review_db, caplog):
    """LibreOffice made the services a fifth slower even in the idle class: at a year-end peak the
    documents wait until the CPUs are no longer contended, or until the oldest has waited ``quiet_wait``."""
    from datetime import timedelta as span

    machine = {"busy": True}

    def quietly(converter, quiet_wait=span(seconds=60)):
        return jobs.make_step(review_db.sessions, review_db.uow, with_overrides(None), converter,
                              quiet_wait=quiet_wait, busy=lambda: machine["busy"])

    def due_since(seconds):
        with review_db.sessions() as session, session.begin():
            session.execute(sa.update(jobs.document_jobs).where(jobs.document_jobs.c.status == "pending")
                            .values(next_attempt_at=jobs.utcnow() - span(seconds=seconds)))

    converter = Converter()
    waiting = quietly(converter)
    due_since(5)
    with caplog.at_level("INFO", logger=jobs.__name__):
        assert waiting() == 0 and waiting() == 0 and converter.batches == []
    assert [r.getMessage() for r in caplog.records].count(
        "documents: the machine is busy; due documents wait for a quiet moment (at most 60 s)") == 1
    assert job(review_db)["status"] == "pending"
    machine["busy"] = False  # quiet now: made at once
    with caplog.at_level("INFO", logger=jobs.__name__):
        assert waiting() == 1 and job(review_db)["status"] == "done"
    assert any(r.getMessage().startswith("documents: rendering after waiting") for r in caplog.records)

    close_more_sittings(review_db, 1)
    machine["busy"] = True
    due_since(61)  # busy still, but waited longer than quiet_wait: made all the same
    assert quietly(converter)() == 1 and jobs_by_sitting(review_db)["s-2"]["status"] == "done"

    with review_db.sessions() as session, session.begin():  # s-2's documents asked for again, busy still
        session.execute(sa.update(jobs.document_jobs).where(jobs.document_jobs.c.sitting_id == "s-2")
                        .values(status="pending", next_attempt_at=jobs.utcnow() - span(seconds=5)))
    assert quietly(converter)() == 0
    assert quietly(converter, quiet_wait=span(0))() == 1  # 0: the documents never wait for a quiet machine
    assert jobs_by_sitting(review_db)["s-2"]["status"] == "done"


def test_documents_an_operator_asks_for_again_are_made_at_once_on_a_busy_machine(review_db):
    """``render_sitting_documents`` (or a failed job listed): someone waits for them, so they are neither
    held for a quiet machine nor gathered; the jobs closing made alone still wait."""
    from datetime import timedelta as span

    converter = Converter()
    busy_step = jobs.make_step(review_db.sessions, review_db.uow, with_overrides(None), converter,
                               gather=span(seconds=20), quiet_wait=span(seconds=600), busy=lambda: True)

    def just_closed():
        with review_db.sessions() as session, session.begin():
            session.execute(sa.update(jobs.document_jobs).where(jobs.document_jobs.c.status == "pending")
                            .values(next_attempt_at=jobs.utcnow() - span(seconds=5)))

    just_closed()
    assert busy_step() == 0 and converter.batches == []  # s-1's job, due since its close: held back
    assert jobs.render_again("s-1", review_db.uow())[0]["status"] == "pending"
    assert busy_step() == 1 and job(review_db)["status"] == "done"
    close_more_sittings(review_db, 1)
    just_closed()
    assert busy_step() == 0  # s-2's, as its sitting closed: held back again


def test_an_operator_listing_documents_held_for_a_quiet_machine_has_them_made_at_once(review_db):
    """``tdkt sitting documents`` waits 300 s by default, less than a quiet wait: a listing of a due
    job makes it due as of a day ago; a job under a lease (being made) keeps its lease."""
    from datetime import timedelta as span

    converter = Converter()
    busy_step = jobs.make_step(review_db.sessions, review_db.uow, with_overrides(None), converter,
                               quiet_wait=span(seconds=600), busy=lambda: True)
    with review_db.sessions() as session, session.begin():
        session.execute(sa.update(jobs.document_jobs).values(next_attempt_at=jobs.utcnow() - span(seconds=5)))
    assert busy_step() == 0
    assert jobs.list_documents("s-1", review_db.uow())[0]["formats"] == []
    assert busy_step() == 1 and job(review_db)["status"] == "done"

    close_more_sittings(review_db, 1)
    lease = jobs.utcnow() + span(minutes=30)
    with review_db.sessions() as session, session.begin():  # s-2's job, claimed by another renderer
        session.execute(sa.update(jobs.document_jobs).where(jobs.document_jobs.c.sitting_id == "s-2")
                        .values(next_attempt_at=lease))
    jobs.list_documents("s-2", review_db.uow())
    assert jobs.utc(jobs_by_sitting(review_db)["s-2"]["next_attempt_at"]) == lease


def test_nothing_is_logged_as_held_back_when_nothing_is_due(review_db, caplog):
    """A reviewer's finding: every flip of a busy machine logged a wait and its end, with nothing due."""
    from datetime import timedelta as span

    machine = {"busy": False}
    step_ = jobs.make_step(review_db.sessions, review_db.uow, with_overrides(None), Converter(),
                           quiet_wait=span(seconds=600), busy=lambda: machine["busy"])
    assert step_() == 1 and job(review_db)["status"] == "done"
    with caplog.at_level("INFO", logger=jobs.__name__):
        for _ in range(3):
            machine["busy"] = True
            assert step_() == 0
            machine["busy"] = False
            assert step_() == 0
    assert not [r for r in caplog.records if r.name == jobs.__name__]


def test_an_operators_request_is_due_longer_ago_than_any_quiet_wait_or_gather_the_settings_allow():
    """``ASKED`` is what makes an operator's request go at once: it must pass the longest waits."""
    from shared.platform.config import ConfigError, load_settings

    longest = load_settings({"TDKT_DOCUMENTS_QUIET_WAIT_SECONDS": "86400", "TDKT_DOCUMENTS_GATHER_SECONDS": "3600"})
    assert jobs.ASKED.total_seconds() >= max(longest.documents_quiet_wait_seconds, longest.documents_gather_seconds)
    with pytest.raises(ConfigError):
        load_settings({"TDKT_DOCUMENTS_QUIET_WAIT_SECONDS": str(jobs.ASKED.total_seconds() + 1)})


def test_a_listing_polled_again_once_its_job_is_asked_for_neither_writes_nor_wakes_the_renderer(review_db):
    """``tdkt sitting documents`` asks every second while it waits: only the first ask changes the job."""
    from datetime import timedelta as span

    with review_db.sessions() as session, session.begin():
        session.execute(sa.update(jobs.document_jobs).values(next_attempt_at=jobs.utcnow() - span(seconds=5)))
    woken = []
    for _ in range(3):
        uow = review_db.uow()
        uow.wake_after_commit = woken.append
        jobs.list_documents("s-1", uow)
    assert woken == [jobs.RELAY]
    assert jobs.utc(job(review_db)["next_attempt_at"]) < jobs.utcnow() - jobs.ASKED + span(minutes=1)
