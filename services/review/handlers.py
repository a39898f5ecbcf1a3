"""Review use cases for cases and the directory, over a unit of work."""
from __future__ import annotations

import logging
from datetime import datetime, time, timedelta, timezone
from functools import partial

from services.review import comment, domain, early, forms, register
from services.review.models import councils, members, quotas, units
from services.review.repository import Reviews
from shared import contract
from shared.contract.awards import AWARD_NAMES
from shared.contract.errors import Conflict, NotFound, ValidationError

log = logging.getLogger(__name__)


def record_submission(event: dict, uow, now) -> None:
    """``intake.nomination_submitted``: the nomination now waits for its unit council (idempotent)."""
    with uow:
        repo = Reviews(uow.session)
        if uow.claim_message_reading(*repo.nomination_lock(event["nomination_id"])) is None:
            return
        early.admit(repo, event, now, locked=True,  # once per nomination, with what came before it
                    on_return=partial(register.announce_return, uow))
        uow.commit()
    log.info("nomination %s waits for its unit council: unit=%s", event["nomination_id"], event["unit_id"])


def record_amendment(event: dict, uow) -> None:
    """``intake.nomination_amended``: new details while the case waits or was returned (a returned one
    waits again); once a council holds it, the amendment is refused aloud (``amendment_refused``)."""
    with uow:
        if not uow.claim_message():
            return
        repo = Reviews(uow.session)
        case = early.arrival(repo, early.AMENDED, event)  # None: kept for its submission, or old news
        if case is None or case["state"] == domain.WITHDRAWN:
            pass
        elif domain.takes_amendment(case):
            changes = domain.amended_case(case, event)
            if held := register.unanswered(case, event.get("revision")):  # a revocation re-checked it: still no
                changes["state"] = domain.RETURNED
                changes["register_notes"] = [*changes["register_notes"],
                                             *register.settle(uow, {**case, **changes}, held)]
            repo.update_case(case["nomination_id"], **changes)
        else:
            uow.publish(contract.AMENDMENT_REFUSED, domain.amendment_refused_event(case, event))
            log.info("amendment of %s refused: the case is %s", case["nomination_id"], case["state"])
        uow.commit()


def record_withdrawal(event: dict, uow) -> None:
    """``intake.nomination_withdrawn``: off every future agenda; an open sitting ignores its marks."""
    with uow:
        if not uow.claim_message():
            return
        repo = Reviews(uow.session)
        case = early.arrival(repo, early.WITHDRAWN, event)  # None: kept for its submission, or old news
        if case is not None and case["state"] != domain.DECIDED:
            repo.update_case(case["nomination_id"], state=domain.WITHDRAWN)
        uow.commit()


def return_nomination(nomination_id: str, reasons: list, uow) -> dict:
    """Send a waiting dossier back to its unit for supplementation (trả lại để bổ sung)."""
    with uow:
        repo = Reviews(uow.session)
        case = repo.case(nomination_id, for_update=True)
        if case is None:
            raise NotFound(f"no nomination {nomination_id!r} in review")
        if case["state"] not in (domain.WAITING, domain.PUBLIC_COMMENT):
            raise Conflict(f"only a waiting nomination can be returned; this one is {case['state']}")
        send_back(repo, uow, case, reasons)
        uow.commit()
        return domain.case_view({**case, "state": domain.RETURNED})


def send_back(repo, uow, case: dict, reasons: list) -> None:
    """Review's return path: the case is ``returned`` and ``nomination_returned`` goes out (in ``uow``)."""
    repo.update_case(case["nomination_id"], state=domain.RETURNED)
    uow.publish(contract.NOMINATION_RETURNED, {
        "nomination_id": case["nomination_id"], "stage": case["stage"], "reasons": reasons,
        "unit_id": case["unit_id"], "contact_email": case["contact_email"],
        "nominee_email": case["nominee"].get("email"), **domain.voted_on(case),
        **domain.names(case, repo.unit_names({case["unit_id"]}))})


def get_case(nomination_id: str, uow) -> dict:
    with uow:
        case = Reviews(uow.session).case(nomination_id)
        if case is None:
            raise NotFound(f"no nomination {nomination_id!r} in review")
        return domain.case_view(case)


def load_directory(directory: dict, uow) -> dict:
    """Upsert units, councils and members; members left out of a council are deactivated."""
    with uow:
        repo = Reviews(uow.session)
        if problems := domain.directory_problems(directory, repo.unit_ids()):
            raise ValidationError(problems)
        for unit in directory["units"]:
            repo.upsert(units, {"id": unit["id"]}, {k: unit.get(k) for k in ("name", "email", "parent")})
        count = 0
        for council in directory["councils"]:
            repo.upsert(councils, {"id": council["id"]}, {"name": council["name"], "level": council["level"],
                                                          "unit_id": council["unit"]})
            for member in council["members"]:
                repo.upsert(members, {"id": member["id"]}, {
                    "council_id": council["id"], "name": member["name"], "email": member["email"],
                    "role": member["role"], "active": True})
                count += 1
            repo.deactivate_members_except(council["id"], [m["id"] for m in council["members"]])
        if directory["units"]:  # notify's mails name units from the first acknowledgement on (names only)
            uow.publish(contract.DIRECTORY_LOADED, {"units": [{"id": u["id"], "name": u["name"]}
                                                              for u in directory["units"]]})
        uow.commit()
    return {"units": len(directory["units"]), "councils": len(directory["councils"]), "members": count}


def set_quota(quota: dict, uow) -> dict:
    """Cap what a council may pass of an award in a year (configurable quotas, NĐ 98 Art. 4)."""
    with uow:
        repo = Reviews(uow.session)
        if repo.council(quota["council_id"]) is None:
            raise NotFound(f"no council {quota['council_id']!r}")
        repo.upsert(quotas, {k: quota[k] for k in ("council_id", "award_code", "award_year")},
                    {"places": quota["places"]})
        uow.commit()
    return quota


def statistics(award_year: int, uow) -> dict:
    with uow:
        return domain.statistics(Reviews(uow.session).decided_cases(award_year), award_year)



DECISION_LAG = timedelta(days=366)


def statistics_forms(year: int, uow, rules) -> dict:
    """The yearly forms of Thông tư 02/2023/TT-BNV the data can fill (``services/review/forms.py``),
    over the reporting year 1 December ``year - 1`` to 30 November ``year`` (Vietnam time)."""
    first, last = forms.reporting_period(year)
    start = datetime.combine(first, time(), tzinfo=forms.VIETNAM).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=forms.VIETNAM).astimezone(timezone.utc)
    with uow:  # a head's decision dated in the year follows its council's outcome by less than a year
        found = Reviews(uow.session).decided_between(start - DECISION_LAG, end)
    for case in found:
        case["decided_at"] = comment.utc(case["decided_at"])
    kinds = {case["nomination_id"]: _award_kind(rules, case) for case in found}
    return forms.forms(year, found, dict(AWARD_NAMES), kinds)


def _award_kind(rules, case) -> str | None:
    rule_set = rules.by_id(case["rule_set"]) if case["rule_set"] else rules.in_force(
        comment.utc(case["received_at"]).date())
    award = rule_set.awards.get(case["award_code"])
    return award.kind if award else None


def comment_summary(nomination_id: str, uow) -> dict:
    """The public comment's result for the minutes (None inside: no comment period for it)."""
    with uow:
        if Reviews(uow.session).case(nomination_id) is None:
            raise NotFound(f"no nomination {nomination_id!r} in review")
        return {"nomination_id": nomination_id, "public_comment": comment.comment_summary(uow.session, nomination_id)}


def list_objections(nomination_id: str | None, uow) -> list[dict]:
    """Every objection (with the objector's contact: operators only), of one nomination or all open."""
    with uow:
        if nomination_id:
            return comment.objections_of(uow.session, [nomination_id], with_contact=True).get(nomination_id, [])
        return comment.open_objections(uow.session)
