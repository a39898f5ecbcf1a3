"""Public comment before the decision (issue #18; NĐ 98/2023 Art. 46, Law 06/2022 Art. 4, NĐ 98 Art. 4).

An award whose rule set gives it ``comment_days`` is published for comment when its nomination waits at
the last council of its pipeline (the proposing body's): the case goes from ``waiting`` to
``public_comment`` until the end of the ``comment_days``-th working day after that (Vietnam time, the
working days of ``services/review/calendar.py``). Anyone may object meanwhile. The case waits again when
the period is over and no objection is open; an open objection holds it (no agenda, no decision) until an
operator records its handling: ``resolved`` (it goes on), or ``upheld`` (returned to the unit with the
reason, through review's return path). :func:`tick` does the opening and releasing: the service's timer
runs it, and so does ``convene_sitting`` before it picks its agenda, so no sitting can miss a period.

Long because the period (opened, released), the objections (filed, bounded, handled) and what the
council, the minutes and the public see of them are one rule of the law, read best together.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from services.review import domain
from services.review.calendar import deadline_after
from services.review.models import cases, objections, units
from services.review.repository import Reviews
from shared.platform.db import as_utc
from shared import contract
from shared.contract.errors import Conflict, NotFound

log = logging.getLogger(__name__)
OPEN, RESOLVED, UPHELD = "open", "resolved", "upheld"
CHANNELS = ("web", "paper")
# Open objections from the public page a nomination may have at once. Each holds the nomination until the
# office handles it, and anyone may post the form: without a bound, a script could hold any nomination
# with more objections than the office can read. Letters the office records are not counted or bounded.
MAX_OPEN_FROM_THE_WEB = 20


utc = as_utc  # a stored time as an aware UTC time (SQLite gives it back naive)


def comment_days(rule_set, award_code: str, stage: str) -> int | None:
    """Working days of comment a case of ``award_code`` owes at ``stage``: only at its award's last council."""
    award = rule_set.awards.get(award_code)
    if award is None or not award.comment_days or award.stages[-1].council != stage:
        return None
    return award.comment_days


def _rule_set(rules, case):
    return rules.by_id(case["rule_set"]) if case["rule_set"] else rules.in_force(utc(case["received_at"]).date())


def tick(session, rules, holidays, now: datetime, publish=None) -> dict:
    """Open the periods now owed (``publish``-ing ``public_comment_opened`` for each, when given) and
    release the cases whose period is over with no objection open."""
    codes = {code for rs in rules.rule_sets for code, award in rs.awards.items() if award.comment_days}
    opened = released = 0
    if codes:
        owed = session.execute(sa.select(cases).where(
            cases.c.state == domain.WAITING, cases.c.comment_until.is_(None), cases.c.award_code.in_(sorted(codes)))
            .order_by(cases.c.nomination_id).with_for_update()).mappings().all()
        for case in owed:
            days = comment_days(_rule_set(rules, case), case["award_code"], case["stage"])
            if days:
                until = deadline_after(now, days, holidays).astimezone(timezone.utc)
                session.execute(sa.update(cases).where(cases.c.nomination_id == case["nomination_id"])
                                .values(state=domain.PUBLIC_COMMENT, comment_until=until, comment_from=now))
                opened += 1
                if publish is not None:
                    publish(contract.PUBLIC_COMMENT_OPENED, {
                        "nomination_id": case["nomination_id"], "unit_id": case["unit_id"], "stage": case["stage"],
                        "award_code": case["award_code"], "award_year": case["award_year"],
                        "revision": case["revision"], "comment_until": until.isoformat()})
                log.info("nomination %s under public comment until %s", case["nomination_id"], until.isoformat())
    held = sa.exists().where(objections.c.nomination_id == cases.c.nomination_id, objections.c.status == OPEN)
    done = session.execute(sa.update(cases).where(
        cases.c.state == domain.PUBLIC_COMMENT, cases.c.comment_until < now, ~held).values(state=domain.WAITING))
    released = done.rowcount or 0
    return {"opened": opened, "released": released}


def run_tick(uow, rules, holidays, now: datetime) -> dict:
    with uow:
        counts = tick(uow.session, rules, holidays, now, uow.publish)
        uow.commit()
    return counts


def not_held():
    """A clause for the cases no open objection holds (``convene_sitting``'s agenda)."""
    return ~sa.exists().where(objections.c.nomination_id == cases.c.nomination_id, objections.c.status == OPEN)


def file_objection(objection: dict, channel: str, uow, now: datetime) -> dict:
    """Record an objection (``name``, ``contact``, ``nomination_id``, ``text``; paper ones may carry the
    ``received_at`` written on them) to a nomination under public comment, while its period runs. The
    same one again while it is open (a double click, a letter recorded twice) is the one already kept."""
    received = utc(objection.get("received_at")) or now
    with uow:
        case = Reviews(uow.session).case(objection["nomination_id"], for_update=True)
        if case is None or case["state"] != domain.PUBLIC_COMMENT:
            raise Conflict("this nomination is not under public comment")
        if received > utc(case["comment_until"]) or received > now:
            raise Conflict("the public comment period of this nomination is over")
        opened = utc(case.get("comment_from"))
        if opened is not None and received < opened:
            raise Conflict(f"received_at {received.isoformat()} is before the public comment period opened "
                           f"({opened.isoformat()}) / ý kiến ghi ngày trước khi bắt đầu lấy ý kiến công khai")
        same = uow.session.execute(sa.select(objections).where(  # sent twice: one objection to handle
            objections.c.nomination_id == case["nomination_id"], objections.c.status == OPEN,
            objections.c.name == objection["name"], objections.c.contact == objection["contact"],
            objections.c.text == objection["text"])).mappings().first()
        if same is not None:
            return {"objection_id": same["id"], "nomination_id": same["nomination_id"], "status": OPEN,
                    "received_at": utc(same["received_at"]).isoformat(), "channel": same["channel"]}
        if channel == "web" and _open_from_the_web(uow.session, case["nomination_id"]) >= MAX_OPEN_FROM_THE_WEB:
            raise Conflict("this page cannot take more objections to this nomination for now: send yours to the "
                           "office in writing / trang này tạm thời không nhận thêm ý kiến về hồ sơ này: xin gửi ý "
                           "kiến bằng văn bản đến Văn phòng")  # never how many are open: objections are not shown
        row = {"id": uuid.uuid4().hex, "nomination_id": case["nomination_id"], "name": objection["name"],
               "contact": objection["contact"], "text": objection["text"], "channel": channel,
               "received_at": received, "status": OPEN, "handling": None, "handled_at": None}
        uow.session.execute(sa.insert(objections).values(**row))
        uow.commit()
    log.info("objection %s to nomination %s received (%s)", row["id"], row["nomination_id"], channel)
    return {"objection_id": row["id"], "nomination_id": row["nomination_id"], "status": OPEN,
            "received_at": received.isoformat(), "channel": channel}


def _open_from_the_web(session, nomination_id: str) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(objections).where(
        objections.c.nomination_id == nomination_id, objections.c.status == OPEN,
        objections.c.channel == "web")).scalar()


def handle_objection(objection_id: str, outcome: str, handling: str, uow, send_back, now: datetime) -> dict:
    """The operator's handling of an open objection: ``resolved`` releases the hold (the case waits again
    once its period is over and nothing else is open); ``upheld`` returns the nomination to its unit with
    ``handling`` as the reason (``send_back(repo, uow, case, reasons)``: review's return path)."""
    with uow:
        row = uow.session.execute(sa.select(objections).where(objections.c.id == objection_id)
                                  .with_for_update()).mappings().first()
        if row is None:
            raise NotFound(f"no objection {objection_id!r}")
        if row["status"] != OPEN:
            raise Conflict(f"objection {objection_id!r} was already handled: {row['status']}")
        repo = Reviews(uow.session)
        case = repo.case(row["nomination_id"], for_update=True)
        uow.session.execute(sa.update(objections).where(objections.c.id == objection_id)
                            .values(status=outcome, handling=handling, handled_at=now))
        if outcome == UPHELD and case["state"] in (domain.PUBLIC_COMMENT, domain.WAITING):
            send_back(repo, uow, case, [f"Ý kiến phản ánh trong thời gian lấy ý kiến công khai được chấp nhận: "
                                        f"{handling} / An objection raised during public comment was upheld."])
        elif case["state"] == domain.PUBLIC_COMMENT:
            tick(uow.session, _NoRules(), frozenset(), now)  # releases it if its period is over
        uow.commit()
        state = repo.case(row["nomination_id"])["state"]
    return {"objection_id": objection_id, "nomination_id": row["nomination_id"], "status": outcome,
            "case_state": state}


class _NoRules:
    """Rules with no rule set: :func:`tick` then only releases."""
    rule_sets = ()


def _objection_view(row: dict, with_contact: bool) -> dict:
    view = {"objection_id": row["id"], "name": row["name"], "text": row["text"], "channel": row["channel"],
            "received_at": utc(row["received_at"]).isoformat(), "status": row["status"],
            "handling": row["handling"],
            "handled_at": utc(row["handled_at"]).isoformat() if row["handled_at"] else None}
    return {**view, "contact": row["contact"]} if with_contact else view


def objections_of(session, nomination_ids, with_contact: bool = False) -> dict[str, list[dict]]:
    """The objections of these nominations, oldest first, by nomination id."""
    rows = session.execute(sa.select(objections).where(objections.c.nomination_id.in_(list(nomination_ids)))
                           .order_by(objections.c.received_at, objections.c.id)).mappings().all()
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(row["nomination_id"], []).append(_objection_view(dict(row), with_contact))
    return found


def agenda_comments(session, cases) -> dict[str, dict]:
    """``{"comment_until", "objections"}`` of each of ``cases`` that had a period (never a contact), by
    nomination id: what the council sees on its ballot page and in its minutes."""
    commented = {case["nomination_id"]: case for case in cases if case["comment_until"] is not None}
    if not commented:
        return {}
    found = objections_of(session, commented)
    return {nid: {"comment_until": utc(case["comment_until"]).isoformat(), "objections": found.get(nid, [])}
            for nid, case in commented.items()}


def open_objections(session) -> list[dict]:
    rows = session.execute(sa.select(objections).where(objections.c.status == OPEN)
                           .order_by(objections.c.received_at, objections.c.id)).mappings().all()
    return [{**_objection_view(dict(row), True), "nomination_id": row["nomination_id"]} for row in rows]


def comment_summary(session, nomination_id: str) -> dict | None:
    """The result of the public comment for the council's minutes (NĐ 98 Art. 46): the period and every
    objection with its handling (never the objector's contact). None: the nomination had no period."""
    case = Reviews(session).case(nomination_id)
    if case is None or case["comment_until"] is None:
        return None
    found = objections_of(session, [nomination_id]).get(nomination_id, [])
    return {"nomination_id": nomination_id, "comment_until": utc(case["comment_until"]).isoformat(),
            "objections": found, "open": sum(o["status"] == OPEN for o in found),
            "upheld": sum(o["status"] == UPHELD for o in found)}


def agenda_note(summary: dict | None, text: int = 1000, count: int = 50) -> dict | None:
    """What a ballot's agenda item carries of the comment (``ballot_issued``'s optional field): the first
    ``count`` objections, each text and handling cut at ``text`` characters, and how many were left off
    (``more``); the whole of them is on the ballot page and in the minutes."""
    if summary is None:
        return None
    found = summary["objections"]
    return {"comment_until": summary["comment_until"], "more": max(0, len(found) - count), "objections": [
        {**{key: o[key] for key in ("name", "received_at", "channel", "status")},
         "handling": o["handling"][:text] if o.get("handling") else o.get("handling"),
         "text": o["text"][:text]} for o in found[:count]]}


NOTES_BUDGET = 1024 * 1024  # bytes of a ballot's comment notes: the ballot stays well within MAX_BALLOT_BYTES
NOTE_STEPS = ((1000, 50), (300, 20), (100, 5), (0, 0))  # (characters, objections) per item, tried in turn


def agenda_notes(summaries: dict[str, dict], budget: int = NOTES_BUDGET) -> dict[str, dict]:
    """The notes of a sitting's commented items (``{nomination_id: summary}``), as full as ``budget`` bytes
    allow for them all: a sitting whose items drew floods of objections still issues its ballots (each
    note then says how many it left off; the council reads them all on its ballot page)."""
    for text, count in NOTE_STEPS:
        notes = {nid: agenda_note(summary, text, count) for nid, summary in summaries.items()}
        if count == 0 or len(json.dumps(notes, ensure_ascii=False).encode()) <= budget:
            return notes
    return notes


def public_list(session, now: datetime) -> list[dict]:
    """What the public comment page shows: nominee, unit, award and achievements of each nomination
    whose period runs now; never contact details, documents or objections."""
    rows = session.execute(sa.select(cases, units.c.name.label("unit_name"))
                           .join(units, units.c.id == cases.c.unit_id, isouter=True)
                           .where(cases.c.state == domain.PUBLIC_COMMENT, cases.c.comment_until >= now)
                           .order_by(cases.c.comment_until, cases.c.nomination_id)).mappings().all()
    return [{"nomination_id": r["nomination_id"], "nominee_name": r["nominee"]["name"],
             "nominee_kind": r["nominee"].get("kind"), "unit_id": r["unit_id"],
             "unit_name": r["unit_name"] or r["unit_id"], "award_code": r["award_code"],
             "award_year": r["award_year"], "achievements": r["achievements"] or "",
             "comment_until": utc(r["comment_until"]).isoformat()} for r in rows]
