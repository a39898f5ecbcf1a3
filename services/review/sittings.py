"""Council sittings: convene, secret ballots, close, tally, quotas, ties and outcomes."""
from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime

from services.review import ballots, comment, domain, sealing
from services.review.calendar import deadline_after
from services.review.closing import OPEN, finalize
from services.review.repository import Reviews
from shared import contract
from shared.contract import ballots as client
from shared.contract.errors import Conflict, NotFound, ValidationError
from shared.contract.schemas import MAX_AGENDA

log = logging.getLogger(__name__)
CHOICES = ("approve", "reject", "abstain")


def convene_sitting(council_id: str, deadline, uow, key: str, holidays, now: datetime,
                    public_url: str | None = None, rules=None) -> dict:
    """Put every waiting nomination for this council on the agenda, freeze the roster, issue ballots."""
    with uow:
        repo = Reviews(uow.session)
        council = repo.council(council_id)
        if council is None:
            raise NotFound(f"no council {council_id!r}")
        roster = repo.active_members(council_id)
        if not roster:
            raise Conflict(f"council {council_id!r} has no members")
        due = _deadline(deadline, holidays, now)
        stage = council["level"]
        if rules is not None:  # periods owed now open, and ended ones release, before the agenda is picked
            comment.tick(uow.session, rules, holidays, now, uow.publish)
        # more than a ballot can carry wait for the council's next sitting, the oldest first on this one;
        # a case under public comment is not waiting, and an open objection holds any case
        cases = repo.waiting_cases(stage, council["unit_id"] if stage == "unit" else None, MAX_AGENDA,
                                   comment.not_held())
        if not cases:
            raise Conflict(f"no nomination is waiting for council {council_id!r}")
        sitting_id = uuid.uuid4().hex
        public_key, ballot_key = sealing.new_key_pair(key)
        tokens = {m["id"]: ballots.issue() for m in roster}  # handed out once, in ballot_issued; never stored
        repo.add_sitting(
            {"id": sitting_id, "council_id": council_id, "stage": stage, "status": OPEN,
             "members_total": len(roster), "deadline": due, "convened_at": now, "public_key": public_key,
             "ballot_key": ballot_key},
            [{"sitting_id": sitting_id, "member_id": m["id"], "name": m["name"], "email": m["email"],
              "role": m["role"], "voted": False, "written_opinion": False,
              "token_digest": ballots.digest(key, tokens[m["id"]])} for m in roster],
            [{"sitting_id": sitting_id, "nomination_id": c["nomination_id"], "award_code": c["award_code"],
              "award_year": c["award_year"],
              "approve": 0, "reject": 0, "abstain": 0} for c in cases])
        repo.update_cases([{"nomination_id": c["nomination_id"], "state": domain.ON_AGENDA,
                            "sitting_id": sitting_id, "considered": True} for c in cases])
        unit_names = repo.unit_names({c["unit_id"] for c in cases})
        items = [{"nomination_id": c["nomination_id"], "award_code": c["award_code"],
                  "nominee_name": c["nominee"]["name"], "unit_id": c["unit_id"],
                  "unit_name": unit_names.get(c["unit_id"])} for c in cases]
        # the council sees the public comment and its handling (NĐ 98 Art. 46): one query for the agenda
        notes = comment.agenda_notes(comment.agenda_comments(uow.session, cases))
        for item in items:
            if item["nomination_id"] in notes:
                item["public_comment"] = notes[item["nomination_id"]]
        # intake closes amendments: these revisions are the ones the council considers (one event for
        # the agenda: a year-end's thousands of nominations were as many events, each its own transaction)
        uow.publish(contract.NOMINATIONS_ON_AGENDA, {
            "sitting_id": sitting_id, "council_id": council_id, "stage": stage,
            "items": [{"nomination_id": c["nomination_id"], "unit_id": c["unit_id"], **domain.voted_on(c)}
                      for c in cases]})
        for member in roster:
            token = tokens[member["id"]]
            uow.publish(contract.BALLOT_ISSUED, {
                "sitting_id": sitting_id, "council_id": council_id, "council_name": council["name"],
                "member": {"id": member["id"], "name": member["name"], "email": member["email"]},
                "ballot_token": token, "public_key": public_key, "deadline": due.isoformat(), "agenda": items,
                "convened_at": now.isoformat(), "ballot_url": f"{public_url}/ballot/{token}" if public_url else None})
        uow.commit()
    log.info("sitting %s convened: council=%s items=%d members=%d", sitting_id, council_id, len(cases),
             len(roster))
    return {"sitting_id": sitting_id, "agenda": [c["nomination_id"] for c in cases], "members": len(roster),
            "deadline": due.isoformat()}


def _deadline(deadline, holidays, now: datetime) -> datetime:
    if isinstance(deadline, dict) and set(deadline) == {"working_days"}:
        days = deadline["working_days"]
        if isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= 60:
            return deadline_after(now, days, holidays)
        raise ValidationError({"deadline": ["working_days must be a whole number from 1 to 60"]})
    try:
        due = datetime.fromisoformat(str(deadline))
    except ValueError:
        raise ValidationError({"deadline": ["must be an ISO 8601 time or {\"working_days\": n}"]}) from None
    if due.tzinfo is None:
        raise ValidationError({"deadline": ["must carry a time zone, e.g. 2025-12-05T17:00:00+07:00"]})
    if due <= now:
        raise ValidationError({"deadline": ["must be in the future"]})
    return due


def cast_vote(event: dict, uow, key: str, rules, now: datetime, sealed_only: bool = False) -> None:
    """``council.vote_cast``: open the sealed ballot with the sitting's key to check it, take it once
    (its receipt, the member's ``voted``) and answer its receipt, or reject it (``vote_rejected`` +
    audit). Nothing of the plain choices is kept: the ballot stays sealed, beside its receipt, until
    voting ends and ``closing.count_ballots`` counts them all at once, so the counters never hold a
    partial tally (one member's marks, or the difference two reads of the database would show).
    ``sealed_only`` (the production profile) refuses a plain ballot (``unsealed``)."""
    with uow:
        if not uow.claim_message():
            return
        repo = Reviews(uow.session)
        token = event["ballot_token"]
        try:
            sitting_id, member_id = ballots.verify(key, token, lambda digest: repo.ballot_of(digest, now))
        except ballots.BadToken as bad:
            _reject(uow, repo, now, None, None, f"{bad.reason}_token", ballots.fingerprint(token))
            return
        sitting = repo.sitting(sitting_id, for_update=True)  # one vote of a sitting at a time
        ballot, problem = None, _problem(repo, sitting, member_id)
        if problem is None:
            ballot, problem = _ballot(event, sitting, key, sealed_only)
        if problem is None:
            problem = _choices_problem(repo, sitting_id, ballot["choices"])
        if problem is None and not repo.add_receipt(sitting_id, ballot["receipt"], ballot["sealed"]):
            problem = "replayed_ballot"  # another member's sealed ballot sent again under this token
        if problem:
            _reject(uow, repo, now, sitting_id, member_id, problem, ballots.fingerprint(token))
            return
        if ballot["sealed"] is None:  # a sitting convened before sealing: no key to count it with later
            repo.count_marks(sitting_id, ballot["choices"])
        repo.mark_voted(sitting_id, member_id, ballot["written_opinion"])
        member = next(m for m in repo.roster_of(sitting_id) if m["member_id"] == member_id)
        uow.publish(contract.VOTE_COUNTED, {
            "sitting_id": sitting_id, "member_id": member_id, "receipt": ballot["receipt"],
            "member": {"id": member_id, "name": member["name"], "email": member["email"]}})
        if all(member["voted"] for member in repo.roster_of(sitting_id)):
            finalize(sitting, repo, uow, rules, now, key)
        uow.commit()
    log.info("vote counted: sitting=%s", sitting_id)  # never the member's choices


def _ballot(event: dict, sitting: dict, key: str, sealed_only: bool) -> tuple[dict | None, str | None]:
    """``({"choices", "written_opinion", "receipt", "sealed"}, None)``, or ``(None, reason)``."""
    if "sealed" in event and "choices" in event:  # the choices in clear beside the box: which is the vote?
        return None, "ambiguous_ballot"
    if "sealed" in event:
        try:
            opened = sealing.open_ballot(key, sitting["ballot_key"], event["sealed"])
        except sealing.Unreadable:
            return None, "unreadable_ballot"
        return {**opened, "receipt": sealing.receipt_code(event["sealed"]), "sealed": event["sealed"]}, None
    if sealed_only:
        return None, "unsealed"
    # a plain ballot (local profile): review seals it to the sitting's key itself, to be counted with the
    # others; its receipt is that box's (random), as a digest of plain choices would tell them
    written = bool(event.get("written_opinion"))
    sealed = client.seal_choices(sitting["public_key"], event["choices"], written) if sitting["public_key"] else None
    return {"choices": event["choices"], "written_opinion": written, "sealed": sealed,
            "receipt": sealing.receipt_code(sealed or secrets.token_hex(16))}, None


def _problem(repo, sitting, member_id) -> str | None:
    if sitting is None:
        return "unknown_sitting"
    if sitting["status"] != OPEN:
        return "sitting_closed"
    member = next((m for m in repo.roster_of(sitting["id"]) if m["member_id"] == member_id), None)
    if member is None:
        return "not_on_roster"
    if member["voted"]:
        return "already_voted"
    return None


def _choices_problem(repo, sitting_id, choices) -> str | None:
    if set(choices) != {row["nomination_id"] for row in repo.agenda_of(sitting_id)}:
        return "choices_do_not_match_agenda"
    if any(choice not in CHOICES for choice in choices.values()):
        return "unknown_choice"
    return None


def _reject(uow, repo, now, sitting_id, member_id, reason, token_digest):
    repo.audit(now, "vote_rejected", sitting_id, f"{reason} member={member_id} token={token_digest}")
    uow.publish(contract.VOTE_REJECTED, {"sitting_id": sitting_id, "member_id": member_id, "reason": reason,
                                         "at": now.isoformat()})
    uow.commit()
    log.warning("vote rejected: sitting=%s reason=%s", sitting_id, reason)
