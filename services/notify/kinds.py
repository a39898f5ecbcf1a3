"""Which mails the review events cause (standard library and shared constants only): invitations,
reminders, outcomes.

Each function turns one event (or, for a reminder, the stored ``ballot_issued`` payload) into the
logical emails it causes; the template ``kind`` and the context are all the renderer needs. Keys come
from :func:`services.notify.domain.mail_key`, so a redelivered event gives the same mails again.
Everyone concerned is told (domain brief, "Public disclosure and notification"; NĐ 98 Art. 32): members
with their ballot and before its deadline, the unit and the nominee of every outcome with the tally and
the reasons.

Long because every mail review's events cause is decided here, each naming its sitting, council, unit,
nominee and award from the event (or the sitting's kept ballot) the same way.
"""
from __future__ import annotations

import base64
import json
import shlex
from datetime import date, datetime, timedelta, timezone
from functools import partial

from services.notify.domain import MailRequest, Recipient
from shared import contract  # event names only (constants)
from shared.contract.awards import AWARD_NAMES

INVITATION, REMINDER, SITTING_OUTCOMES = "invitation", "reminder", "sitting_outcomes"
RECEIPT, RECEIPTS = "receipt", "receipts"  # a member's receipt; the list of receipts counted at the close
ADVANCED, DECIDED, RETURNED = "advanced", "decided", "returned"
MINUTES = "minutes"
VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving time in Vietnam

STAGE_NAMES = {"unit": ("Hội đồng TĐKT đơn vị", "the unit council"),
               "ministry": ("Hội đồng TĐKT Bộ", "the ministry council")}
OUTCOME_WORDS = {"approved": ("được công nhận / quyết định khen thưởng", "approved (awarded)"),
                 "proposed": ("được đề nghị cấp trên khen thưởng", "proposed to the higher level"),
                 "rejected": ("không được đề nghị", "not proposed")}


def vietnam_time(deadline: str) -> str:
    """``"17:00 ngày 05/12/2025"`` for an ISO 8601 time (UTC assumed if it names no zone);
    the text unchanged if it is not one, so a mail is never lost to a formatting detail."""
    moment = _in_vietnam(deadline)
    return moment.strftime("%H:%M ngày %d/%m/%Y") if moment else str(deadline)


def vietnam_date(moment) -> str | None:
    """``"05/12/2025"`` (the day in Vietnam) for an ISO 8601 time; None if it is not one."""
    local = _in_vietnam(moment)
    return local.strftime("%d/%m/%Y") if local else None


def _in_vietnam(text) -> datetime | None:
    """An ISO 8601 time (UTC if it names no zone) in Vietnam's time; None for anything else, a time at
    the calendar's edge included (``astimezone`` overflows on 9999-12-31T23:00+00:00)."""
    try:
        moment = datetime.fromisoformat(str(text))
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(VIETNAM)
    except (ValueError, OverflowError):
        return None


def vietnam_day(moment) -> str:
    """``"05/12/2025"`` for an ISO date (a decision's, as written) or time (the day in Vietnam); the text
    unchanged if it is neither."""
    text = str(moment)
    try:
        return date.fromisoformat(text).strftime("%d/%m/%Y")
    except ValueError:
        return vietnam_date(text) or text


def agenda_groups(agenda: list[dict]) -> list[dict]:
    """The agenda by unit and award, in names: what a member reads in the invitation."""
    grouped: dict[tuple, dict] = {}
    for item in sorted(agenda, key=lambda i: (i["unit_name"], i["award_name"], i["nominee_name"])):
        grouped.setdefault((item["unit_name"], item["award_name"]),
                           {"unit_name": item["unit_name"], "award_name": item["award_name"], "items": []}
                           )["items"].append(item)
    return list(grouped.values())


def vote_command(token: str, nomination_ids: list[str], public_key: str | None = None) -> str:
    """The shell line that approves every item; the member moves ids after ``reject``/``abstain``.
    With the sitting's public key, ``tdkt vote`` seals the choices to it before they leave the machine."""
    key = ["--key", public_key] if public_key else []
    words = ["tdkt", "vote", "--token", token, *key, "approve", *nomination_ids]
    return " ".join(shlex.quote(str(word)) for word in words)


def vote_payload(token: str, nomination_ids: list[str], public_key: str | None = None) -> str:
    """The ``council.vote_cast`` body a client dispatches directly (contract.md, "Council members"):
    sealed when the sitting has a public key (README "Secret ballot"), else the plain form."""
    choices = {nid: "approve" for nid in nomination_ids}
    if public_key:
        return json.dumps({"ballot_token": token, "sealed": "<base64 SealedBox(public_key) of sealed_content>"},
                          ensure_ascii=False, indent=2)
    return json.dumps({"ballot_token": token, "choices": choices}, ensure_ascii=False, indent=2)


def sealed_content(nomination_ids: list[str]) -> str:
    """What a client seals to the sitting's public key (``shared.contract.ballots.seal_choices``): the
    shape, each value one of the three choices."""
    return json.dumps({"choices": {nid: "<approve|reject|abstain>" for nid in nomination_ids},
                       "written_opinion": False}, ensure_ascii=False)


def ballot_context(ballot: dict) -> dict:
    """What an invitation and a reminder show: the sitting, the agenda, the token and how to vote."""
    agenda = [{"nomination_id": item["nomination_id"], "award_code": item.get("award_code"),
               "award_name": AWARD_NAMES.get(item.get("award_code"), item.get("award_code") or ""),
               "nominee_name": item.get("nominee_name") or "", "unit_id": item.get("unit_id") or "",
               "unit_name": item.get("unit_name") or item.get("unit_id") or ""}
              for item in ballot["agenda"]]
    ids = [item["nomination_id"] for item in agenda]
    token, public_key = ballot["ballot_token"], ballot.get("public_key")
    return {"sitting_id": ballot["sitting_id"], "council_id": ballot["council_id"], **sitting_names(ballot, ""),
            "member_name": ballot["member"].get("name") or "", "deadline": ballot["deadline"],
            "deadline_vi": vietnam_time(ballot["deadline"]), "agenda": agenda, "groups": agenda_groups(agenda),
            "ballot_token": token, "ballot_url": ballot.get("ballot_url"), "public_key": public_key,
            "sealed_content": sealed_content(ids), "vote_command": vote_command(token, ids, public_key),
            "vote_payload": vote_payload(token, ids, public_key)}


def sitting_names(ballot: dict | None, sitting_id: str, council_id: str | None = None) -> dict:
    """How a mail names a sitting: its council and date (``"Hội đồng ... ngày 01/12/2026"``) from a
    ``ballot_issued`` of it; the council's id, else the sitting's, when notify has none of its ballots."""
    ballot = ballot or {}
    council, date = ballot.get("council_name") or ballot.get("council_id") or council_id or "", sitting_date(ballot, None)
    return {"council_name": council, "sitting_date": date,
            "sitting_name": (f"{council} ngày {date}" if council and date else council) or sitting_id}


def _to_member(ballot: dict, kind: str, event_id: str) -> list[MailRequest]:
    member = ballot["member"]
    return [MailRequest(event_id, kind, Recipient(member["email"], member.get("name")), ballot_context(ballot))]


def invitation(event: dict, event_id: str) -> list[MailRequest]:
    """``review.ballot_issued`` -> the member is invited to the sitting with their ballot token."""
    return _to_member(event, INVITATION, event_id)


def reminder(ballot: dict, event_id: str) -> list[MailRequest]:
    """A member who has not voted yet is reminded before the deadline; ``ballot`` is the stored
    ``ballot_issued`` payload and ``event_id`` names this reminder (one per ballot and round)."""
    return _to_member(ballot, REMINDER, event_id)


def receipt(event: dict, event_id: str, ballot: dict | None = None) -> list[MailRequest]:
    """``review.vote_counted`` -> the member gets the receipt of their counted ballot (nothing of how they
    voted; none for a vote counted before receipts). ``ballot``: a kept ``ballot_issued`` that names it."""
    member = event.get("member")
    if not member or not event.get("receipt"):
        return []
    context = {"sitting_id": event["sitting_id"], "member_name": member.get("name") or "",
               "receipt": event["receipt"], **sitting_names(ballot, event["sitting_id"])}
    return [MailRequest(event_id, RECEIPT, Recipient(member["email"], member.get("name")), context)]


def receipts(published: dict, event_id: str, ballot: dict | None = None) -> list[MailRequest]:
    """``review.receipts_published`` -> every member gets the receipts counted, without names: each finds
    their own, and the list is as long as the ballots counted (``ballot``: as above)."""
    context = {"sitting_id": published["sitting_id"], "council_id": published["council_id"],
               **sitting_names(ballot, published["sitting_id"], published["council_id"]),
               "codes": list(published["codes"]), "ballots_counted": published["ballots_counted"],
               "members_total": len(published["members"])}
    return [MailRequest(event_id, RECEIPTS, Recipient(m["email"], m.get("name")),
                        {**context, "member_name": m.get("name") or ""}) for m in published["members"]]


def sitting_date(ballot: dict | None, moment) -> str | None:
    """The date a mail names a sitting by: the day it was convened, as its invitations say, from a ballot
    notify keeps of it; else the day of ``moment`` (its close)."""
    convened = vietnam_date(ballot["convened_at"]) if ballot and ballot.get("convened_at") else None
    return convened or (vietnam_date(moment) if moment else None)


def outcome(event_type: str, event: dict, event_id: str, ballot: dict | None = None) -> list[MailRequest]:
    """``nomination_advanced`` / ``_decided`` -> the nominee (when known) is told, with the tally and the
    reasons; the unit contact learns it in the sitting's one mail (:func:`sitting_outcomes`), which also
    serves a nominee at the contact's own address. ``nomination_returned`` -> the unit contact and the
    nominee (a different address) are each told."""
    kind = OUTCOME_KINDS[event_type]
    stage = event.get("stage")
    stage_vi, stage_en = STAGE_NAMES.get(stage, (stage or "", stage or ""))
    result = event.get("outcome")
    outcome_vi, outcome_en = OUTCOME_WORDS.get(result, (result or "", result or ""))
    award_code = event.get("award_code")
    context = {"nomination_id": event["nomination_id"], "stage": stage, "stage_vi": stage_vi,
               "stage_en": stage_en, "outcome": result, "outcome_vi": outcome_vi, "outcome_en": outcome_en,
               "tally": _tally(event.get("tally")), "reasons": list(event.get("reasons") or []),
               "unit_id": event.get("unit_id") or "", "unit_name": event.get("unit_name") or event.get("unit_id") or "",
               "sitting_id": event.get("sitting_id"), "award_code": award_code,
               "award_name": AWARD_NAMES.get(award_code, award_code or ""), "award_year": event.get("award_year"),
               "nominee_name": event.get("nominee_name"), "council_name": event.get("council_name") or stage_vi,
               "sitting_date": sitting_date(ballot, event.get("decided_at"))}
    requests = []
    contact, nominee = event.get("contact_email"), event.get("nominee_email")
    if contact and kind == RETURNED:
        requests.append(MailRequest(event_id, kind, Recipient(contact), {**context, "audience": "unit"}))
    if nominee and (not contact or nominee.strip().lower() != contact.strip().lower()):
        requests.append(MailRequest(event_id, kind, Recipient(nominee, event.get("nominee_name")),
                                    {**context, "audience": "nominee"}))
    return requests


def sitting_outcomes(closed: dict, event_id: str, ballot: dict | None = None) -> list[MailRequest]:
    """``sitting_closed`` -> ONE mail to each unit contact: a table of the unit's nominations decided or
    advanced at that sitting (nominee, award, votes, outcome, reasons)."""
    council_name = closed.get("council_name") or closed.get("council_id") or ""
    by_contact: dict[str, list[dict]] = {}
    for result in closed.get("results") or []:
        if result.get("outcome") in SITTING_RESULTS and result.get("contact_email"):
            by_contact.setdefault(str(result["contact_email"]).strip(), []).append(result)
    requests = []
    for contact, results in sorted(by_contact.items()):  # a unit's contact; rarely, one clerk's several units
        units = list(dict.fromkeys(r.get("unit_name") or r.get("unit_id") or "" for r in
                                   sorted(results, key=lambda r: r.get("unit_name") or r.get("unit_id") or "")))
        rows = [{"nominee_name": r.get("nominee_name") or "", "award_name": AWARD_NAMES.get(r.get("award_code"),
                 r.get("award_code") or ""), "approve": r.get("approve"), "members": r.get("members"),
                 "required": r.get("required"), "reject": r.get("reject"), "abstain": r.get("abstain"),
                 "outcome_vi": SITTING_RESULTS[r["outcome"]][0], "outcome_en": SITTING_RESULTS[r["outcome"]][1],
                 "reasons": list(r.get("reasons") or []), "nomination_id": r.get("nomination_id"),
                 "unit_name": (r.get("unit_name") or r.get("unit_id") or "") if len(units) > 1 else None}
                for r in sorted(results, key=lambda r: (r.get("unit_name") or r.get("unit_id") or "",
                                                        r.get("award_code") or "", r.get("nominee_name") or ""))]
        first = results[0]
        context = {"council_name": council_name, "sitting_id": closed["sitting_id"],
                   "sitting_date": sitting_date(ballot, closed.get("closed_at")), "unit_id": first.get("unit_id") or "",
                   "unit_name": ", ".join(units), "rows": rows,
                   "quorum_met": closed.get("quorum_met"), "participants": closed.get("participants")}
        requests.append(MailRequest(event_id, SITTING_OUTCOMES, Recipient(contact), context))
    return requests


SITTING_RESULTS = {"approved": OUTCOME_WORDS["approved"], "proposed": OUTCOME_WORDS["proposed"],
                   "rejected": OUTCOME_WORDS["rejected"],
                   "advanced": ("được chuyển lên Hội đồng TĐKT Bộ", "advanced to the ministry council")}


def minutes(event: dict, event_id: str) -> list[MailRequest]:
    """``review.sitting_documents_ready`` -> each unit in scope (with an address in the directory) gets the
    sitting's minutes as a PDF attachment: one mail per unit per sitting, in addition to its outcome mails,
    which go out at the close and never wait for the documents to be rendered."""
    attached = event["minutes"]
    attachment = (attached["filename"], attached["content_type"], base64.b64decode(attached["content_base64"]))
    context = {"sitting_id": event["sitting_id"], "council_id": event["council_id"],
               "council_name": event["council_name"], "closed_vi": vietnam_time(event["closed_at"]),
               "filename": attached["filename"]}
    return [MailRequest(event_id, MINUTES, Recipient(unit["email"], unit["name"]),
                        {**context, "unit_name": unit["name"]}, attachment)
            for unit in event["units"] if unit.get("email")]


def _tally(tally: dict | None) -> dict | None:
    if not tally:
        return None
    return {key: tally.get(key) for key in ("approve", "reject", "abstain", "members", "required")}


OUTCOME_KINDS = {contract.NOMINATION_ADVANCED: ADVANCED, contract.NOMINATION_DECIDED: DECIDED,
                 contract.NOMINATION_RETURNED: RETURNED}
HANDLERS = {contract.BALLOT_ISSUED: invitation, contract.SITTING_CLOSED: sitting_outcomes,
            **{event_type: partial(outcome, event_type) for event_type in OUTCOME_KINDS}}


def requests_for(event_type: str, event: dict, event_id: str) -> list[MailRequest]:
    """The mails a review event causes (``[]`` for an event notify does not mail about)."""
    handler = HANDLERS.get(event_type)
    return handler(event, event_id) if handler else []
