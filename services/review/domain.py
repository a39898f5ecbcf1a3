"""Review's small rules (standard library only): cases, events and the directory's shape."""
from __future__ import annotations

from datetime import datetime, timezone

UNIT_COUNCIL = "unit"
WAITING, ON_AGENDA, RETURNED, DECIDED, WITHDRAWN = "waiting", "on_agenda", "returned", "decided", "withdrawn"
PUBLIC_COMMENT = "public_comment"  # published for comment before its council may take it (NĐ 98 Art. 46)
AWARDED = ("approved", "proposed")


def case_from_submission(event: dict, now: datetime) -> dict:
    """Every pipeline starts at the nominating unit's own council (Law Art. 56; NĐ 98 Art. 30)."""
    return {"nomination_id": event["nomination_id"], "unit_id": event["unit_id"],
            "award_code": event["award_code"], "award_year": event["award_year"],
            "nominee": event["nominee"], "contact_email": event["contact_email"], "stage": UNIT_COUNCIL,
            "state": WAITING, "received_at": now, "rule_set": event.get("rule_set"),
            "revision": event.get("revision") or 1, "considered": False, "dossier": event.get("dossier"),
            "register_notes": event.get("register_notes") or [], "achievements": event.get("achievements") or ""}


def amended_case(case: dict, event: dict) -> dict:
    """The changes an accepted amendment makes. A dossier that changes award or year starts its pipeline
    again at the unit council: no council has voted on the new title, and a stage the new award does
    not have (a ministry stage for LDTT) could never be decided."""
    restart = (event["award_code"], event["award_year"]) != (case["award_code"], case["award_year"])
    return {"award_code": event["award_code"], "award_year": event["award_year"], "nominee": event["nominee"],
            "contact_email": event["contact_email"], "state": WAITING,
            "stage": UNIT_COUNCIL if restart else case["stage"], "considered": False, "dossier": event.get("dossier"),
            "revision": event.get("revision") or (case["revision"] or 1) + 1,
            "register_notes": event.get("register_notes") or [], "achievements": event.get("achievements") or "",
            # the public comments on the dossier the council will consider: a changed one (an answer to an
            # upheld objection, say) is put out for comment afresh where its award owes a period
            "comment_until": None, "comment_from": None}


def takes_amendment(case: dict) -> bool:
    """A returned case, or one waiting that no council has taken since it was (re)submitted. Once a
    council took it, even a sitting without quorum that sent it back to wait, only a return reopens it:
    intake closed amendments when it heard of the agenda, so a later one crossed that news."""
    return case["state"] == RETURNED or (case["state"] in (WAITING, PUBLIC_COMMENT) and not case["considered"])


def amendment_is_stale(case: dict, event: dict) -> bool:
    """An amendment older than (or the same as) the revision the case holds: a late duplicate."""
    return event.get("revision") is not None and case["revision"] is not None and event["revision"] <= case["revision"]


def amendment_refused_event(case: dict, event: dict) -> dict:
    """Payload of ``amendment_refused``: review holds ``considered_revision`` and keeps it."""
    return {"nomination_id": case["nomination_id"], "unit_id": case["unit_id"],
            "revision": event.get("revision") or (case["revision"] or 1) + 1,
            "considered_revision": case["revision"] or 1, "award_code": case["award_code"],
            "award_year": case["award_year"], "stage": case["stage"], "state": case["state"],
            "sitting_id": case["sitting_id"], "reasons": [
                f"Hồ sơ đang ở trạng thái {case['state']} tại hội đồng cấp {case['stage']}: chỉ sửa được khi "
                "đang chờ xét hoặc bị trả lại. / The dossier is no longer waiting or returned."]}


def leaves_sitting(case: dict, sitting_id: str) -> bool:
    """An agenda item whose case left the sitting before it closed (withdrawn, or returned to its unit
    after a register entry it relied on was revoked, and maybe amended since: waiting, under public
    comment afresh or on another sitting's agenda): its marks, cast on a dossier it no longer holds, are
    ignored."""
    return case["state"] in (WITHDRAWN, RETURNED, PUBLIC_COMMENT) or case["sitting_id"] != sitting_id


def voted_on(case: dict) -> dict:
    """What a council considers of a case: the award, the year and the dossier revision."""
    return {"award_code": case["award_code"], "award_year": case["award_year"],
            "revision": case["revision"] or 1}


def case_view(case: dict) -> dict:
    return {"nomination_id": case["nomination_id"], "unit_id": case["unit_id"],
            "award_code": case["award_code"], "award_year": case["award_year"], "stage": case["stage"],
            "state": case["state"], "outcome": case["outcome"], "sitting_id": case["sitting_id"],
            "received_at": case["received_at"].isoformat(), "revision": case["revision"] or 1,
            "register_notes": case.get("register_notes") or [], "decision": case.get("decision"),
            "comment_until": _utc_text(case.get("comment_until"))}


def _utc_text(moment) -> str | None:
    """A stored time (kept in UTC; SQLite gives it back naive) as ISO 8601 with its zone."""
    if moment is None:
        return None
    return (moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment).isoformat()


def names(case: dict, unit_names: dict, council: dict | None = None) -> dict:
    """What a mail calls a case by: its nominee, unit and (at a sitting) council."""
    found = {"nominee_name": case["nominee"].get("name"), "unit_name": unit_names.get(case["unit_id"])}
    if council:
        found.update(council_id=council["id"], council_name=council["name"])
    return {key: value for key, value in found.items() if value}


def outcome_event(case: dict, result: str, stage: str, tally: dict, reasons, sitting_id, now,
                  named: dict | None = None) -> dict:
    """Payload of ``nomination_decided`` / ``nomination_advanced`` (contract.md)."""
    return {**(named or {}), "nomination_id": case["nomination_id"], "outcome": result if result in (*AWARDED, "rejected")
            else None, "stage": stage, "tally": tally, "reasons": list(reasons), "unit_id": case["unit_id"],
            "contact_email": case["contact_email"], "nominee_email": case["nominee"].get("email"),
            "sitting_id": sitting_id, "decided_at": now.isoformat(), **voted_on(case)}


def statistics(cases: list[dict], award_year: int) -> dict:
    """Decided nominations of a year by award, unit, gender and direct workers (the last two: awarded)."""
    by_award, by_unit = {}, {}
    by_gender, direct_workers, total = {"female": 0, "male": 0}, 0, 0
    for case in cases:
        outcome = case["outcome"]
        for table, key in ((by_award, case["award_code"]), (by_unit, case["unit_id"])):
            counts = table.setdefault(key, {"approved": 0, "proposed": 0, "rejected": 0})
            counts[outcome] = counts.get(outcome, 0) + 1
        total += 1
        if outcome in AWARDED and case["nominee"].get("kind") == "individual":
            gender = case["nominee"].get("gender")
            if gender in by_gender:
                by_gender[gender] += 1
            direct_workers += bool(case["nominee"].get("direct_worker"))
    return {"award_year": award_year, "by_award": by_award, "by_unit": by_unit, "by_gender": by_gender,
            "direct_workers": direct_workers, "total": total}


def directory_problems(directory: dict, known_units: set[str]) -> dict:
    """Cross-record checks of a directory file: every field error at once, keyed like marshmallow's."""
    problems = {}
    unit_ids = known_units | {unit["id"] for unit in directory["units"]}
    seen_members = set()
    for index, council in enumerate(directory["councils"]):
        errors = []
        if council["unit"] not in unit_ids:
            errors.append(f"unit {council['unit']!r} is not in the directory")
        roles = [member["role"] for member in council["members"]]
        if roles.count("chair") != 1:
            errors.append("a council has exactly one chair")
        if council["level"] == "ministry" and roles.count("vice_chair") > 4:
            errors.append("a ministry council has at most 4 vice chairs")
        duplicated = {m["id"] for m in council["members"]} & seen_members
        seen_members |= {m["id"] for m in council["members"]}
        if duplicated or len(roles) != len({m["id"] for m in council["members"]}):
            errors.append(f"member ids must be unique: {sorted(duplicated) or 'repeated in this council'}")
        if errors:
            problems[f"councils.{index}"] = errors
    return problems
