"""Intake use cases: plain functions over a unit of work (``shared.platform.store.UnitOfWork``).

Long because intake's use cases are many (submit, amend, withdraw, the unit's views, tokens) and it
follows each of review's events about a nomination (outcomes, agendas, refusals) here too."""
from __future__ import annotations

import logging

from services.intake import domain, register, revisions
from services.intake.eligibility import assess, check_dossier
from services.intake.models import InitiativeTaken, Initiatives, Nominations, Tokens
from services.intake.messages import unmet
from services.intake.register_store import Register
from shared import contract
from shared.contract.errors import Conflict, Forbidden, Ineligible, NotFound, Unauthorized

log = logging.getLogger(__name__)
KNOWN_TOKENS = domain.KnownTokens()  # this process's: which unit a token digest belongs to (a hint)


def authenticate_unit(token, uow) -> str:
    """The unit a token belongs to; ``Unauthorized`` when it is missing, unknown or revoked."""
    digest = token_digest(token)
    unit_id = Tokens(uow.session).unit_for(digest)
    if unit_id is None:
        KNOWN_TOKENS.forget(digest)
        raise Unauthorized("unknown or revoked unit token")
    return KNOWN_TOKENS.learn(digest, unit_id)


def token_digest(token) -> str:
    if not isinstance(token, str) or not token:
        raise Unauthorized("a unit token is required in context data 'auth_token'")
    return domain.hash_token(token)


def own_nomination(nomination_id: str, unit_id: str, uow, for_update: bool = False) -> domain.Nomination:
    nomination = Nominations(uow.session).get(nomination_id, for_update)
    if nomination is None:
        raise NotFound(f"no nomination {nomination_id!r}")
    if nomination.unit_id != unit_id:
        raise Forbidden("this nomination belongs to another unit")
    return nomination


def admit(body: dict, unit_id: str, rule_set, uow, nomination_id: str, new: bool = False,
          register_check: str = register.STRICT, register_rows=None) -> list:
    """Check the claimed titles against the register, eligibility (with the register's titles) and the
    dossier, then claim the initiatives relied on; ``Ineligible`` lists all. A ``new`` nomination has no
    claims of its own to release first; ``register_rows``: the :func:`register_reading`, read already.
    Returns the register notes for the council."""
    person = domain.person_key(unit_id, body["nominee"])
    ledger = Initiatives(uow.session)
    # which initiatives others took matters only to a dossier that relies on some (one query less)
    used = ledger.used_by_others(person, nomination_id) if person and claims_initiatives(body) else set()
    verdict, notes = assess_with_register(body, unit_id, rule_set, uow, used, register_check, register_rows)
    check_dossier(body, rule_set.awards[body["award_code"]], verdict)
    if not verdict.eligible:
        raise Ineligible(verdict.unmet)
    if not new:
        ledger.release(nomination_id)
    try:
        ledger.take(person, verdict.initiatives, nomination_id)
    except InitiativeTaken as taken:
        raise Ineligible([unmet("initiative_already_used", ids=str(taken))]) from None
    return notes


def claims_initiatives(body: dict) -> bool:
    return any(row.get("initiatives") for row in body.get("history", ()))


def register_reading(body: dict, unit_id: str, register_check: str, after_a_wait: bool = False) -> tuple:
    """What the register check reads of the nominee: the query and its parameters (``Register.reading``;
    ``after_a_wait`` for a PostgreSQL insert's statement); claimed titles are checked from the register's
    first year, so that is read with them."""
    claimed = any(row.get("titles") or row.get("adhoc_titles") for row in body.get("history", ()))
    return Register.reading(register.nominee_key(unit_id, body["nominee"]),
                            with_first_year=claimed and register_check != register.OFF, after_a_wait=after_a_wait)


def assess_with_register(body: dict, unit_id: str, rule_set, uow, used, register_check: str, rows=None,
                         held_against_revocations: bool = False):
    """Eligibility read with the person's register entries, and the claims checked against them:
    ``(verdict, notes)``; under ``strict`` a mismatch is one of the verdict's unmet criteria. ``rows``:
    the :func:`register_reading`, when read already. The read waits for a revocation of the holder's
    entries in flight (PostgreSQL), unless the caller holds off revocations already
    (``held_against_revocations``: a decision, ``Register.hold_against_revocations``)."""
    if rows is None:
        after_a_wait = uow.session.get_bind().dialect.name == "postgresql" and not held_against_revocations
        rows = uow.session.execute(*register_reading(body, unit_id, register_check,
                                                     after_a_wait=after_a_wait)).mappings().all()
    entries, first_year = Register.entries_read(rows)
    claims = register.check_claims(body, entries, first_year, register_check)
    verdict = assess(register.with_register(body, entries), rule_set, used)
    verdict.unmet.extend(claims.unmet)
    return verdict, claims.notes


def submit_nomination(body: dict, token, uow, rules, now, register_check: str = register.STRICT) -> dict:
    """Store a new nomination and announce it; the same key and body again answer the first result.

    The key first, without a look-up: a retry overlapping the first call waits in the insert, then
    loses. With a token this process has seen, the token is checked in that insert, which also reads
    the nominee's register entries (one statement); the token is looked up first only when it is new
    here, or when the insert stored nothing (a key used already, or a token revoked meanwhile)."""
    with uow:
        digest = token_digest(token)
        rule_set = rules.in_force(domain.submission_date(now))
        known = KNOWN_TOKENS.unit_for(digest)
        if known is not None:
            stored = _store_new(body, known, rule_set, uow, now, register_check, digest)
            if stored is not None:
                return stored
            uow.session.rollback()  # the token was revoked (refused below), or the key is taken
        unit_id = authenticate_unit(token, uow)
        if unit_id != known:  # new here (or the hint was wrong): not tried as this unit yet
            stored = _store_new(body, unit_id, rule_set, uow, now, register_check)
            if stored is not None:
                return stored
            uow.session.rollback()
        # the unit used this key already (a retry), or a concurrent call took it first and committed
        existing = Nominations(uow.session).by_submission_key(unit_id, body["submission_key"])
        if existing.fingerprint != domain.fingerprint(body):
            raise Conflict(f"submission_key {body['submission_key']!r} was used for a different nomination")
        return domain.receipt(existing, duplicate=True)


def _store_new(body: dict, unit_id: str, rule_set, uow, now, register_check: str, digest: str | None = None):
    """Insert the nomination (under ``digest``, only if it is a live token of ``unit_id``), admit it,
    announce it and commit: its receipt, or None when nothing was inserted. ``Ineligible`` rolls back."""
    nomination = domain.new_nomination(body, unit_id, rule_set.id, now)
    repo = Nominations(uow.session)
    postgresql = uow.session.get_bind().dialect.name == "postgresql"
    rows = repo.add_reading(nomination, *register_reading(body, unit_id, register_check, after_a_wait=postgresql),
                            token_digest=digest)
    if rows is None:
        return None
    notes = admit(body, unit_id, rule_set, uow, nomination.id, new=True, register_check=register_check,
                  register_rows=rows)
    if notes:
        nomination.register_notes = notes
        repo.save(nomination)
    uow.publish(contract.NOMINATION_SUBMITTED, domain.submitted_event(nomination))
    uow.commit()
    log.info("nomination %s submitted: unit=%s award=%s", nomination.id, unit_id, nomination.award_code)
    return domain.receipt(nomination, duplicate=False)


def amend_nomination(nomination_id: str, changes: dict, token, uow, rules, load, now,
                     register_check: str = register.STRICT) -> dict:
    """Replace fields of a submitted or returned nomination; ``load`` validates the merged body."""
    with uow:
        unit_id = authenticate_unit(token, uow)
        nomination = own_nomination(nomination_id, unit_id, uow, for_update=True)
        body = load({**nomination.body, **changes})
        nomination.register_notes = admit(body, unit_id, rules.by_id(nomination.rule_set), uow, nomination.id,
                                          register_check=register_check) or None
        try:
            resubmitted = domain.amend(nomination, body, now)
        except domain.NotAllowed as exc:
            raise Conflict(str(exc)) from None
        Nominations(uow.session).save(nomination)
        uow.publish(contract.NOMINATION_AMENDED,
                    {**domain.submitted_event(nomination), "resubmitted": resubmitted})
        uow.commit()
        return domain.view(nomination)


def withdraw_nomination(nomination_id: str, reason: str, token, uow, now) -> dict:
    with uow:
        unit_id = authenticate_unit(token, uow)
        nomination = own_nomination(nomination_id, unit_id, uow, for_update=True)
        try:
            domain.withdraw(nomination, reason, now)
        except domain.NotAllowed as exc:
            raise Conflict(str(exc)) from None
        Nominations(uow.session).save(nomination)
        Initiatives(uow.session).release(nomination.id)
        uow.publish(contract.NOMINATION_WITHDRAWN, domain.withdrawn_event(nomination, reason))
        uow.commit()
        return domain.view(nomination)


def follow_review(event_type: str, event: dict, uow, now, rules=None) -> None:
    """Status and history follow review's outcome events (idempotent through the inbox); the outcome is
    recorded on the dossier revision that was voted on."""
    with uow:
        claimed = uow.claim_message_reading(*Nominations.locking(event["nomination_id"]))
        if claimed is None:
            return
        repo, nomination = Nominations(uow.session), Nominations.first(claimed)
        reopened = nomination is not None and revisions.withdrawal_crossed(nomination, event_type, event, now)
        if nomination is not None and nomination.status not in domain.FINAL:
            if event_type == contract.NOMINATION_RETURNED:
                revisions.follow_return(nomination, event, now)
            else:
                if (revisions.align(nomination, event, now) or reopened) and rules is not None:
                    reclaim(nomination, uow, rules)  # the voted dossier's initiatives, released or not
                domain.apply_review(nomination, event_type, event, now)
            repo.save(nomination)
            if nomination.status == "rejected":  # no award: its initiatives may back another
                Initiatives(uow.session).release(nomination.id)
        uow.commit()


FOLLOW_CONSIDERED = {contract.AMENDMENT_REFUSED: revisions.refuse_amendment,
                     contract.PUBLIC_COMMENT_OPENED: revisions.note_public_comment}


def follow_considered(event_type: str, event: dict, uow, rules, now) -> None:
    """``review.amendment_refused`` / ``review.public_comment_opened``: the council holds a revision; a
    crossing amendment is undone (idempotent through the inbox)."""
    with uow:
        claimed = uow.claim_message_reading(*Nominations.locking(event["nomination_id"]))
        if claimed is None:
            return
        repo, nomination = Nominations(uow.session), Nominations.first(claimed)
        if nomination is not None and _of_its_unit(nomination, event, event_type):
            if FOLLOW_CONSIDERED[event_type](nomination, event, now):
                reclaim(nomination, uow, rules)
            repo.save(nomination)
        uow.commit()
    log.info("nomination %s: %s (revision %s)", event["nomination_id"], event_type, event.get("revision"))


def follow_agenda(event: dict, uow, rules, now) -> None:
    """``review.nominations_on_agenda`` (and an older review's ``nomination_on_agenda``, through
    :func:`as_agenda`): a council holds these revisions; amendments close and a crossing amendment is
    undone, for every nomination in one transaction (idempotent through the inbox). A nomination
    intake does not have, or of another unit than the item names, is passed over."""
    with uow:
        claimed = uow.claim_message_reading(*Nominations.locking_all(item["nomination_id"] for item in event["items"]))
        if claimed is None:
            return
        repo, held = Nominations(uow.session), {nomination.id: nomination for nomination in Nominations.every(claimed)}
        common = {"sitting_id": event["sitting_id"], "council_id": event["council_id"], "stage": event["stage"]}
        followed, restored = [], []
        for item in event["items"]:
            nomination = held.get(item["nomination_id"])
            if nomination is None or not _of_its_unit(nomination, item, contract.NOMINATIONS_ON_AGENDA):
                continue
            if revisions.put_on_agenda(nomination, {**common, **item}, now):
                restored.append(nomination)
            followed.append(nomination)
        reclaim_all(restored, uow, rules)
        repo.save_all(followed)
        uow.commit()
    log.info("sitting %s: %s of %d nominations (%d here)", event["sitting_id"], contract.NOMINATIONS_ON_AGENDA,
             len(event["items"]), len(held))


def as_agenda(event: dict) -> dict:
    """An older review's ``nomination_on_agenda`` (one nomination) as the ``nominations_on_agenda`` of one."""
    common = ("sitting_id", "council_id", "stage")
    return {**{key: event[key] for key in common},
            "items": [{key: value for key, value in event.items() if key not in common}]}


def _of_its_unit(nomination: domain.Nomination, event: dict, event_type: str) -> bool:
    """Review names the nomination's own unit; an event naming another is not followed (logged)."""
    if event["unit_id"] == nomination.unit_id:
        return True
    log.warning("nomination %s: %s names unit %s, not its unit: not followed", nomination.id, event_type,
                event["unit_id"])
    return False


def reclaim(nomination: domain.Nomination, uow, rules) -> None:
    """After the dossier went back to an earlier revision: its initiatives, not the amendment's, are
    the ones this nomination holds (one achievement, one award)."""
    reclaim_all([nomination], uow, rules)


def reclaim_all(restored: list[domain.Nomination], uow, rules) -> None:
    """:func:`reclaim` for several nominations at once: every one's claims released first, then each
    takes its own, so two nominations of one person whose amendments swapped an initiative each get
    back the one their restored dossier relies on."""
    ledger = Initiatives(uow.session)
    for nomination in restored:
        ledger.release(nomination.id)
    for nomination in restored:
        person = domain.person_key(nomination.unit_id, nomination.nominee)
        if person is None:
            continue
        verdict = assess(nomination.body, rules.by_id(nomination.rule_set), ledger.used_by_others(person, nomination.id))
        try:
            ledger.take(person, verdict.initiatives, nomination.id)
        except InitiativeTaken as taken:  # claimed meanwhile by another nomination: say so, keep going
            log.warning("nomination %s: initiative %s now backs another nomination", nomination.id, taken)


def issue_unit_token(unit_id: str, uow, now, revoke_others: bool = False) -> str:
    """A new token for ``unit_id``; only its digest is stored."""
    with uow:
        token = domain.new_token()
        tokens = Tokens(uow.session)
        if revoke_others:
            tokens.revoke_all(unit_id, now)
        tokens.add(domain.hash_token(token), unit_id, now)
        uow.commit()
    return token
