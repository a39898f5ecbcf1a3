"""Which mails the review events cause (standard library and shared constants only): invitations,
reminders, outcomes.

Each function turns one event (or, for a reminder, the stored ``ballot_issued`` payload) into the
logical emails it causes; the template ``kind`` and the context are all the renderer needs. Keys come
from :func:`services.notify.domain.mail_key`, so a redelivered event gives the same mails again.
Everyone concerned is told (domain brief, "Public disclosure and notification"; NĐ 98 Art. 32): members
with their ballot and before its deadline, the unit and the nominee of every outcome with the tally and
the reasons.
"""
from __future__ import annotations

import base64
import json
import shlex
from datetime import datetime, timedelta, timezone
from functools import partial

from services.notify.domain import MailRequest, Recipient
from shared import contract  # event names only (constants)
from shared.contract.awards import AWARD_NAMES

INVITATION, REMINDER = "invitation", "reminder"
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
    try:
        moment = datetime.fromisoformat(str(deadline))
    except ValueError:
        return str(deadline)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


def vote_command(token: str, nomination_ids: list[str]) -> str:
    """The shell line that approves every item; the member moves ids after ``reject``/``abstain``."""
    words = ["tdkt", "vote", "--token", token, "approve", *nomination_ids]
    return " ".join(shlex.quote(str(word)) for word in words)


def vote_payload(token: str, nomination_ids: list[str]) -> str:
    """The ``council.vote_cast`` body a client dispatches directly (contract.md, "Council members")."""
    return json.dumps({"ballot_token": token, "choices": {nid: "approve" for nid in nomination_ids}},
                      ensure_ascii=False, indent=2)


def ballot_context(ballot: dict) -> dict:
    """What an invitation and a reminder show: the sitting, the agenda, the token and how to vote."""
    agenda = [{"nomination_id": item["nomination_id"], "award_code": item.get("award_code"),
               "award_name": AWARD_NAMES.get(item.get("award_code"), item.get("award_code") or ""),
               "nominee_name": item.get("nominee_name") or "", "unit_id": item.get("unit_id") or ""}
              for item in ballot["agenda"]]
    ids = [item["nomination_id"] for item in agenda]
    token = ballot["ballot_token"]
    return {"sitting_id": ballot["sitting_id"], "council_id": ballot["council_id"],
            "member_name": ballot["member"].get("name") or "", "deadline": ballot["deadline"],
            "deadline_vi": vietnam_time(ballot["deadline"]), "agenda": agenda, "ballot_token": token,
            "vote_command": vote_command(token, ids), "vote_payload": vote_payload(token, ids)}


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


def outcome(event_type: str, event: dict, event_id: str) -> list[MailRequest]:
    """``nomination_advanced`` / ``_decided`` / ``_returned`` -> the unit contact and the nominee
    (when known and a different address) are each told, with the tally and the reasons."""
    kind = OUTCOME_KINDS[event_type]
    stage = event.get("stage")
    stage_vi, stage_en = STAGE_NAMES.get(stage, (stage or "", stage or ""))
    result = event.get("outcome")
    outcome_vi, outcome_en = OUTCOME_WORDS.get(result, (result or "", result or ""))
    context = {"nomination_id": event["nomination_id"], "stage": stage, "stage_vi": stage_vi,
               "stage_en": stage_en, "outcome": result, "outcome_vi": outcome_vi, "outcome_en": outcome_en,
               "tally": _tally(event.get("tally")), "reasons": list(event.get("reasons") or []),
               "unit_id": event.get("unit_id") or "", "sitting_id": event.get("sitting_id"),
               "award_code": event.get("award_code"), "nominee_name": event.get("nominee_name")}
    requests = []
    contact, nominee = event.get("contact_email"), event.get("nominee_email")
    if contact:
        requests.append(MailRequest(event_id, kind, Recipient(contact), {**context, "audience": "unit"}))
    if nominee and (not contact or nominee.strip().lower() != contact.strip().lower()):
        requests.append(MailRequest(event_id, kind, Recipient(nominee, event.get("nominee_name")),
                                    {**context, "audience": "nominee"}))
    return requests


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
HANDLERS = {contract.BALLOT_ISSUED: invitation,
            **{event_type: partial(outcome, event_type) for event_type in OUTCOME_KINDS}}


def requests_for(event_type: str, event: dict, event_id: str) -> list[MailRequest]:
    """The mails a review event causes (``[]`` for an event notify does not mail about)."""
    handler = HANDLERS.get(event_type)
    return handler(event, event_id) if handler else []
