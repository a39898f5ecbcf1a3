"""A closed sitting's documents: requested in the closing transaction, rendered by a relay, served by RPC.

Long because a job's whole life is kept together: requested, claimed in batches under a lease, rendered
with its fallback one sitting at a time, stored with its event once, listed and made again on demand.

Closing a sitting writes a ``document_jobs`` row (``pending``) in the same transaction, so no closed
sitting is left without its documents. The ``documents`` relay claims the jobs that are due, up to
``BATCH`` at a time, for a lease (another instance, or this one after a crash, takes them again when the
lease ends), fills every kind each sitting has as DOCX in one child process and converts them all to PDF
in one LibreOffice run (each start costs more than a unit sitting's pages; a batch that fails is made
again one sitting at a time, so one bad sitting never holds the others), and stores each sitting's files with its job ``done`` and the event
``sitting_documents_ready`` (the minutes as PDF, for notify to mail the units) in one transaction. A
failed render is tried again with doubling delays; after ``MAX_ATTEMPTS`` the job shows as ``failed``
and is still tried every ``MAX_RETRY_DELAY`` (nobody may ever ask for that sitting, and its units wait for
their minutes), or at once on the next ``sitting_documents`` call. While the machine's CPUs are
contended, due jobs wait for a quiet moment (at most ``quiet_wait``), except those an operator asks
for (``sitting_documents``, ``render_sitting_documents``), which are made at once. Rendering the same sitting again gives the same
DOCX bytes (the PDF's text is the same; LibreOffice stamps its creation time), and is not announced again.
"""
from __future__ import annotations

import base64
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from services.review.comment import objections_of, utc
from services.review.documents import content, pressure
from services.review.documents.render import CONTENT_TYPES, FILL_TIMEOUT, SOFFICE_TIMEOUT, RenderError, fill_apart
from services.review.models import agenda, cases, councils, document_jobs, documents, roster, sittings, units
from shared import contract
from shared.contract.errors import Conflict, NotFound, ValidationError
from shared.platform.db import insert_new
from shared.platform.outbox import utcnow

log = logging.getLogger(__name__)
RELAY = "documents"
PENDING, DONE, FAILED = "pending", "done", "failed"
# twice a batch's worst case (the DOCX filled, then converted, each to its timeout): a live renderer never
# loses its jobs; each store and each failure is recorded only by the holder of the lease (below)
LEASE = timedelta(seconds=2 * (FILL_TIMEOUT + SOFFICE_TIMEOUT))
# sittings claimed and converted together: each run costs LibreOffice about a second before its first page
# (and the DOCX child a third of one), a unit sitting's pages about half as much; a year-end's unit sittings
# close by the dozen. 16 of the largest (1,000 items) still convert within SOFFICE_TIMEOUT.
BATCH = 16
MAX_ATTEMPTS = 8  # then the job shows as failed, and is still tried again every MAX_RETRY_DELAY
FIRST_RETRY_SECONDS = 30
MAX_RETRY_DELAY = timedelta(hours=6)
ASKED = timedelta(days=1)  # at least the longest quiet wait (TDKT_DOCUMENTS_QUIET_WAIT_SECONDS) and gather
FORMATS = ("docx", "pdf")
FILENAMES = {content.MINUTES: "bien-ban", content.PROPOSAL: "to-trinh", content.DECISION: "du-thao-quyet-dinh"}


def request(session, sitting_id: str, now, asked: bool = False) -> bool:
    """Queue the sitting's documents (in the caller's transaction); False when already queued or made.
    ``asked``: an operator is waiting for them, so they are due as of ``ASKED`` ago: made at once, with
    whatever else is due, neither gathered nor held for a quiet machine."""
    return insert_new(session, document_jobs, sitting_id=sitting_id, status=PENDING, attempts=0,
                      next_attempt_at=now - ASKED if asked else now, requested_at=now)


def facts_of(session, sitting_id: str, rules) -> dict:
    """Everything the documents of a closed sitting say, read in one transaction."""
    one = lambda query: dict(session.execute(query).mappings().one())  # noqa: E731
    sitting = one(sa.select(sittings).where(sittings.c.id == sitting_id))
    council = one(sa.select(councils).where(councils.c.id == sitting["council_id"]))
    unit_rows = {u["id"]: dict(u) for u in session.execute(sa.select(units)).mappings()}
    body = unit_rows.get(council["unit_id"], {"id": council["unit_id"], "name": council["unit_id"], "parent": None})
    members = [dict(m) for m in session.execute(sa.select(roster).where(roster.c.sitting_id == sitting_id)
                                                 .order_by(roster.c.member_id)).mappings()]
    rows = session.execute(sa.select(agenda, cases.c.nominee, cases.c.unit_id, cases.c.award_year,
                                     cases.c.rule_set, cases.c.received_at, cases.c.comment_until,
                                     cases.c.register_notes)
                           .join(cases, cases.c.nomination_id == agenda.c.nomination_id)
                           .where(agenda.c.sitting_id == sitting_id)).mappings().all()
    # the public comment's result (NĐ 98 Art. 46) and the register check's notes go into the minutes
    closed = utc(sitting["closed_at"])
    found = objections_of(session, [r["nomination_id"] for r in rows if r["comment_until"] is not None])
    items = [{**row, "reasons": row["reasons"] or [], "register_notes": row["register_notes"] or [],
              **_comment_before(utc(row["comment_until"]), found.get(row["nomination_id"], []), closed),
              "rule_set": rules.by_id(row["rule_set"]) if row["rule_set"] else rules.in_force(row["received_at"].date())}
             for row in rows]
    closed_on = utc(sitting["closed_at"]).astimezone(content.VIETNAM).date()
    return {"money_rules": rules.in_force(closed_on),  # as intake's record_decision does on its decision's date
            "sitting": sitting, "council": council, "body": body, "parent": unit_rows.get(body.get("parent")),
            "roster": members, "items": items, "unit_names": {k: u["name"] for k, u in unit_rows.items()},
            "unit_emails": {k: u["email"] for k, u in unit_rows.items()}}


def _comment_before(until, objections: list, closed) -> dict:
    """The public comment as it stood when the sitting closed (a period that ended before it, the
    objections received and handled by then), so the minutes made again later say the same."""
    if until is None or until > closed:
        return {"comment_until": None, "objections": []}
    def as_of(o):
        handled = o["handled_at"] is not None and datetime.fromisoformat(o["handled_at"]) <= closed
        return o if handled else {**o, "status": "open", "handling": None, "handled_at": None}
    return {"comment_until": until,
            "objections": [as_of(o) for o in objections if datetime.fromisoformat(o["received_at"]) <= closed]}


def render_all(facts: dict, converter) -> dict[tuple[str, str], bytes]:
    """``{(kind, fmt): bytes}`` for every kind the sitting has; the PDFs come from those very DOCX files."""
    return _rendered({facts["sitting"]["id"]: contexts_of(facts)}, converter)[facts["sitting"]["id"]]


def contexts_of(facts: dict) -> dict[str, dict]:
    """``{kind: the template's context}`` for every kind the sitting has."""
    return {kind: content.BUILDERS[kind](facts) for kind in content.kinds_of(facts)}


def _rendered(contexts: dict[str, dict[str, dict]], converter) -> dict[str, dict[tuple[str, str], bytes]]:
    """``{sitting: {kind: context}}`` -> ``{sitting: {(kind, fmt): bytes}}``: every DOCX of the batch
    filled by one child process, every PDF made by one LibreOffice run; raises :class:`RenderError`."""
    docx = fill_apart({f"{sitting_id}.{kind}": (kind, context) for sitting_id, kinds in contexts.items()
                       for kind, context in kinds.items()})
    pdf = converter.to_pdf(docx)
    return {sitting_id: {**{(kind, "docx"): docx[f"{sitting_id}.{kind}"] for kind in kinds},
                         **{(kind, "pdf"): pdf[f"{sitting_id}.{kind}"] for kind in kinds}}
            for sitting_id, kinds in contexts.items()}


def make_step(sessions, new_uow, rules, converter, batch: int = BATCH, gather: timedelta = timedelta(0),
              quiet_wait: timedelta = timedelta(0), busy=pressure.busy):
    """The relay's step: render the due jobs (up to ``batch``); returns how many it took, 0 when none was due.
    Fewer than ``batch`` jobs wait until the oldest has waited ``gather`` (each LibreOffice run costs about
    a second of CPU before its first page: at a year-end, sittings closing one by one are made together).
    While the machine is ``busy`` (its CPUs contended), due jobs wait for a quiet one, until the oldest
    has waited ``quiet_wait`` (0: never): LibreOffice, even in the idle scheduling class, made the
    services a fifth slower when it ran in their gaps (its caches, its memory), and the documents are
    not the year-end's hurry.

    Every job is claimed with one lease (``next_attempt_at``), and whatever this step records on a job
    (its files, a failure, a longer lease) is recorded only while the job still holds that lease: a job
    another instance took over, or that ``render_sitting_documents`` asked for anew meanwhile, is left
    to its new holder."""
    waiting_since = None  # when this step began to hold due jobs back, for one log line a wait

    def step() -> int:
        nonlocal waiting_since
        if quiet_wait and busy():
            due_since = _due_since(sessions)
            if due_since is None:
                return 0  # nothing due: nothing held back
            if due_since > utcnow() - quiet_wait:
                if waiting_since is None:
                    waiting_since = utcnow()
                    log.info("documents: the machine is busy; due documents wait for a quiet moment "
                             "(at most %d s)", quiet_wait.total_seconds())
                return 0
        claimed, lease = _claim(sessions, batch, gather)
        if claimed and waiting_since is not None:
            log.info("documents: rendering after waiting %.0f s for a quiet machine",
                     (utcnow() - waiting_since).total_seconds())
            waiting_since = None
        leases = dict.fromkeys(claimed, lease)
        read = {}
        for sitting_id in claimed:
            try:
                with sessions() as session:
                    facts = facts_of(session, sitting_id, rules)
                read[sitting_id] = (facts, contexts_of(facts))
            except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job and retried
                _failed(sessions, sitting_id, leases[sitting_id], exc)
        _render_each(sessions, read, converter, leases,
                     lambda sitting_id, files: _store(new_uow(), read[sitting_id][0], files, leases[sitting_id]))
        return len(claimed)
    return step


def _render_each(sessions, read: dict, converter, leases: dict, store) -> None:
    """Render and ``store(sitting_id, files)`` every sitting read, in one batch; if that fails, one sitting
    at a time (:func:`_one_by_one`)."""
    if not read:
        return
    try:
        made = _rendered({sitting_id: contexts for sitting_id, (_, contexts) in read.items()}, converter)
    except Exception as exc:  # noqa: BLE001
        if len(read) == 1:
            _failed(sessions, next(iter(read)), leases[next(iter(read))], exc)
        else:
            log.warning("documents of %d sittings: the batch failed (%s); rendering them one by one", len(read), exc)
            _one_by_one(sessions, read, converter, leases, store)
        return
    for sitting_id, files in made.items():
        store(sitting_id, files)


def _one_by_one(sessions, read: dict, converter, leases: dict, store) -> None:
    """Each sitting on a renewed lease, stored as soon as it is made; a failure recorded on its own job."""
    for sitting_id, (_, contexts) in read.items():
        leases[sitting_id] = _hold(sessions, sitting_id, leases[sitting_id])
        if leases[sitting_id] is None:
            continue  # no longer this instance's job
        try:
            files = _rendered({sitting_id: contexts}, converter)[sitting_id]
        except Exception as exc:  # noqa: BLE001
            _failed(sessions, sitting_id, leases[sitting_id], exc)
            continue
        store(sitting_id, files)


def _claim(sessions, batch: int = 1, gather: timedelta = timedelta(0)) -> tuple[list[str], datetime]:
    """Up to ``batch`` due jobs, and the lease they are now held under; none while fewer than ``batch``
    are due and the oldest has waited less than ``gather``."""
    now = utcnow()
    lease = now + LEASE
    with sessions() as session, session.begin():
        rows = session.execute(
            sa.select(document_jobs.c.sitting_id, document_jobs.c.next_attempt_at)
            .where(document_jobs.c.status.in_((PENDING, FAILED)), document_jobs.c.next_attempt_at <= now)
            .order_by(document_jobs.c.next_attempt_at, document_jobs.c.sitting_id).limit(batch)
            .with_for_update(skip_locked=True)).all()
        oldest = min((utc(row.next_attempt_at) for row in rows), default=None)
        due = [row.sitting_id for row in rows] if len(rows) >= batch or (oldest and oldest <= now - gather) else []
        if due:
            session.execute(sa.update(document_jobs).where(document_jobs.c.sitting_id.in_(due))
                            .values(next_attempt_at=lease))
        return list(due), lease


def _due_since(sessions) -> datetime | None:
    """Since when the longest-due job is due (None: none is), which says whether it has waited long
    enough for a quiet machine."""
    with sessions() as session:
        since = session.execute(sa.select(sa.func.min(document_jobs.c.next_attempt_at))
                                .where(document_jobs.c.status.in_((PENDING, FAILED)),
                                       document_jobs.c.next_attempt_at <= utcnow())).scalar()
    return None if since is None else utc(since)


def _held(sitting_id: str, lease):
    """The job of ``sitting_id`` while it still holds ``lease`` (not done, not asked for anew, not taken over)."""
    return sa.and_(document_jobs.c.sitting_id == sitting_id, document_jobs.c.next_attempt_at == lease,
                   document_jobs.c.status != DONE)


def _hold(sessions, sitting_id: str, lease) -> datetime | None:
    """A new lease on a job this step holds, before a conversion that starts late in the step; None
    when the job is no longer this step's."""
    renewed = utcnow() + LEASE
    with sessions() as session, session.begin():
        taken = session.execute(sa.update(document_jobs).where(_held(sitting_id, lease))
                                .values(next_attempt_at=renewed)).rowcount
    return renewed if taken == 1 else None


def _failed(sessions, sitting_id: str, lease, exc: Exception) -> None:
    level = logging.ERROR if isinstance(exc, RenderError) else logging.CRITICAL
    log.log(level, "documents of sitting %s: render failed: %s", sitting_id, exc, exc_info=not isinstance(exc, RenderError))
    now = utcnow()
    with sessions() as session, session.begin():
        attempts = session.execute(sa.select(document_jobs.c.attempts).where(_held(sitting_id, lease))).scalar()
        if attempts is None:
            log.info("documents of sitting %s: the job is no longer this renderer's; its failure is not recorded",
                     sitting_id)
            return
        attempts += 1
        session.execute(sa.update(document_jobs).where(_held(sitting_id, lease)).values(
            attempts=attempts, status=FAILED if attempts >= MAX_ATTEMPTS else PENDING, error=str(exc)[:500],
            next_attempt_at=now + min(timedelta(seconds=FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 20)),
                                      MAX_RETRY_DELAY)))


def _store(uow, facts: dict, files: dict, lease) -> bool:
    """The files, the job done and (the first time) ``sitting_documents_ready``, in one transaction, if
    the job still holds ``lease``; False (nothing stored) when it does not. The job's row is updated
    first, so two stores of one sitting take turns and the second sees the first's files."""
    sitting_id = facts["sitting"]["id"]
    kinds = content.kinds_of(facts)
    with uow:
        session = uow.session
        if session.execute(sa.update(document_jobs).where(_held(sitting_id, lease)).values(
                status=DONE, done_at=utcnow(), kinds=kinds, error=None)).rowcount != 1:
            log.info("documents of sitting %s: the job is no longer this renderer's; not stored", sitting_id)
            return False
        first = session.execute(sa.select(sa.func.count()).select_from(documents)
                                .where(documents.c.sitting_id == sitting_id)).scalar() == 0
        session.execute(sa.delete(documents).where(documents.c.sitting_id == sitting_id))
        session.execute(sa.insert(documents), [{"sitting_id": sitting_id, "kind": kind, "fmt": fmt, "content": data}
                                               for (kind, fmt), data in sorted(files.items())])
        if first:  # announced once: a sitting made again on demand mails nobody twice
            uow.publish(contract.SITTING_DOCUMENTS_READY, ready_event(facts, kinds, files[(content.MINUTES, "pdf")]))
        uow.commit()
    log.info("documents of sitting %s rendered: %s", sitting_id, ", ".join(kinds))
    return True


def ready_event(facts: dict, kinds: list, minutes_pdf: bytes) -> dict:
    """``sitting_documents_ready``: the kinds made, and the minutes as PDF for each unit in scope."""
    sitting = facts["sitting"]
    unit_ids = sorted({item["unit_id"] for item in facts["items"]})
    return {"sitting_id": sitting["id"], "council_id": sitting["council_id"], "council_name": facts["council"]["name"],
            "closed_at": sitting["closed_at"].isoformat(), "kinds": kinds,
            "units": [{"unit_id": u, "name": facts["unit_names"].get(u, u), "email": facts.get("unit_emails", {}).get(u)}
                      for u in unit_ids],
            "minutes": _file(sitting["id"], content.MINUTES, "pdf", minutes_pdf)}


def _file(sitting_id: str, kind: str, fmt: str, data: bytes) -> dict:
    return {"filename": f"{FILENAMES[kind]}-{sitting_id}.{fmt}", "content_type": CONTENT_TYPES[fmt],
            "content_base64": base64.b64encode(data).decode("ascii")}


def _closed_sitting(session, sitting_id: str) -> dict:
    sitting = session.execute(sa.select(sittings).where(sittings.c.id == sitting_id)).mappings().first()
    if sitting is None:
        raise NotFound(f"no sitting {sitting_id!r}")
    if sitting["status"] != "closed":
        raise Conflict(f"sitting {sitting_id!r} is {sitting['status']}: its documents are made when it closes")
    return sitting


def list_documents(sitting_id: str, uow) -> list[dict]:
    """``[{"kind", "formats", "status"}]``; ``formats`` is empty until the render is done. A closed sitting
    without a job (closed before documents existed) or whose job failed is queued again."""
    with uow:
        session = uow.session
        _closed_sitting(session, sitting_id)
        job = session.execute(sa.select(document_jobs).where(document_jobs.c.sitting_id == sitting_id)).mappings().first()
        if job is not None and job["status"] == DONE:
            return [{"kind": kind, "formats": list(FORMATS), "status": DONE} for kind in job["kinds"]]
        if job is None or job["status"] == FAILED:
            if job is not None:
                session.execute(sa.delete(document_jobs).where(document_jobs.c.sitting_id == sitting_id))
            request(session, sitting_id, utcnow(), asked=True)
            asked = True
        else:
            asked = _asked_for(session, sitting_id)
        if asked:  # a listing polled every second changes nothing once its job is asked for
            uow.wake_after_commit(RELAY)
            uow.commit()
        outcomes = set(session.execute(sa.select(agenda.c.outcome).where(agenda.c.sitting_id == sitting_id)).scalars())
        kinds = content.kinds_of({"items": [{"outcome": o} for o in outcomes]})
        return [{"kind": kind, "formats": [], "status": PENDING} for kind in kinds]


def _asked_for(session, sitting_id: str) -> bool:
    """Someone waits for the documents of a job that is due: they are due as of ``ASKED`` ago, made at
    once (True when that changed the job). A job held under a lease or waiting to be tried again after
    a failure keeps its time."""
    now = utcnow()
    return session.execute(sa.update(document_jobs).where(
        document_jobs.c.sitting_id == sitting_id, document_jobs.c.status == PENDING,
        document_jobs.c.next_attempt_at <= now, document_jobs.c.next_attempt_at > now - ASKED)
        .values(next_attempt_at=now - ASKED)).rowcount == 1


def render_again(sitting_id: str, uow) -> list[dict]:
    """Queue a closed sitting's documents to be made again (a template or a money value changed); the
    files already made are served until the new ones replace them. The same data give the same DOCX."""
    with uow:
        _closed_sitting(uow.session, sitting_id)
        uow.session.execute(sa.delete(document_jobs).where(document_jobs.c.sitting_id == sitting_id))
        request(uow.session, sitting_id, utcnow(), asked=True)
        uow.wake_after_commit(RELAY)
        uow.commit()
    return list_documents(sitting_id, uow)


def get_document(sitting_id: str, kind: str, fmt: str, uow) -> dict:
    if kind not in content.KINDS or fmt not in FORMATS:
        raise ValidationError({"kind": [f"one of {', '.join(content.KINDS)}"]} if kind not in content.KINDS
                              else {"fmt": [f"one of {', '.join(FORMATS)}"]})
    with uow:
        session = uow.session
        _closed_sitting(session, sitting_id)
        made = dict(session.execute(sa.select(documents.c.kind, documents.c.content).where(
            documents.c.sitting_id == sitting_id, documents.c.fmt == fmt)).all())
        if not made:
            raise Conflict(f"the documents of sitting {sitting_id!r} are not rendered yet: ask sitting_documents")
        if kind not in made:
            raise NotFound(f"sitting {sitting_id!r} has no {kind} (it has {', '.join(sorted(made))})")
        return _file(sitting_id, kind, fmt, made[kind])
