"""Attack on dbbceff: what a submission stores and announces must be what the code before it (85b3203)
stored and announced, on the known-token path and on the path of a token new here, on SQLite and
PostgreSQL, for the register's cases (claimed titles under strict/warn/off, the register's first year,
titles the unit did not type, a collective, an empty register), and the same refusals.

The code of 85b3203 is kept below as the reference (``before``): its submit_nomination and its register
reads, unchanged but for the names it imported."""
import copy
import json
import uuid
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from services.intake import domain, handlers, register
from services.intake.eligibility import assess, check_dossier
from services.intake.messages import unmet
from services.intake.models import InitiativeTaken, Initiatives, Nominations, Tokens, nominations
from services.intake.register import Entry
from services.intake.register_store import _ENTRIES_AND_FIRST_YEAR, register_entries
from services.intake.service import MIGRATIONS, _load_nomination
from shared import contract
from shared.contract.errors import Conflict, Ineligible
from shared.platform.db import insert_new
from shared.platform.rules import load_rules
from tests.integration.conftest import EXAMPLE
from tests.integration.delivery import Tables

RULES = load_rules(None)
NOW = datetime(2026, 3, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


# --- 85b3203, the reference --------------------------------------------------------------------------
def before_entries_of(session, holder_key):
    rows = session.execute(sa.select(register_entries.c.award_code, register_entries.c.award_year,
                                     register_entries.c.state).where(register_entries.c.holder_key == holder_key)).all()
    return [Entry(code, year, state) for code, year, state in rows]


def before_entries_and_first_year(session, holder_key):
    rows = session.execute(_ENTRIES_AND_FIRST_YEAR, {"holder_key": holder_key}).all()
    entries = [Entry(code, year, state) for _, code, year, state in rows if code is not None]
    return entries, rows[0][0] if rows else None


def before_assess_with_register(body, unit_id, rule_set, uow, used, register_check):
    holder = register.nominee_key(unit_id, body["nominee"])
    claimed = any(row.get("titles") or row.get("adhoc_titles") for row in body.get("history", ()))
    if claimed and register_check != register.OFF:
        entries, first_year = before_entries_and_first_year(uow.session, holder)
    else:
        entries, first_year = before_entries_of(uow.session, holder), None
    claims = register.check_claims(body, entries, first_year, register_check)
    verdict = assess(register.with_register(body, entries), rule_set, used)
    verdict.unmet.extend(claims.unmet)
    return verdict, claims.notes


def before_admit(body, unit_id, rule_set, uow, nomination_id, register_check):
    person = domain.person_key(unit_id, body["nominee"])
    ledger = Initiatives(uow.session)
    used = ledger.used_by_others(person, nomination_id) if person and handlers.claims_initiatives(body) else set()
    verdict, notes = before_assess_with_register(body, unit_id, rule_set, uow, used, register_check)
    check_dossier(body, rule_set.awards[body["award_code"]], verdict)
    if not verdict.eligible:
        raise Ineligible(verdict.unmet)
    try:
        ledger.take(person, verdict.initiatives, nomination_id)
    except InitiativeTaken as taken:
        raise Ineligible([unmet("initiative_already_used", ids=str(taken))]) from None
    return notes


def before_submit(body, token, uow, rules, now, register_check):
    with uow:
        unit_id = Tokens(uow.session).unit_for(domain.hash_token(token))
        repo = Nominations(uow.session)
        rule_set = rules.in_force(domain.submission_date(now))
        nomination = domain.new_nomination(body, unit_id, rule_set.id, now)
        if not insert_new(uow.session, nominations, **{c.name: getattr(nomination, c.name) for c in nominations.columns}):
            uow.session.rollback()
            existing = repo.by_submission_key(unit_id, body["submission_key"])
            if existing.fingerprint != domain.fingerprint(body):
                raise Conflict(f"submission_key {body['submission_key']!r} was used for a different nomination")
            return domain.receipt(existing, duplicate=True)
        notes = before_admit(body, unit_id, rule_set, uow, nomination.id, register_check)
        if notes:
            nomination.register_notes = notes
            repo.save(nomination)
        uow.publish(contract.NOMINATION_SUBMITTED, domain.submitted_event(nomination))
        uow.commit()
        return domain.receipt(nomination, duplicate=False)
# ------------------------------------------------------------------------------------------------------


@pytest.fixture
def databases(db_urls):
    """Two intake databases: one for the code before dbbceff, one for the code now."""
    pair = Tables(db_urls["intake"], MIGRATIONS), Tables(db_urls["review"], MIGRATIONS)
    yield pair
    for tables in pair:
        tables.dispose()


@pytest.fixture
def fixed_ids(monkeypatch):
    class FixedUuid:
        @staticmethod
        def uuid4():
            return uuid.UUID(int=42)

    monkeypatch.setattr(domain, "uuid", FixedUuid)


def entry(holder, code, year, state="awarded", number=None):
    return {"id": f"{holder}-{code}-{year}-{number}", "holder_key": holder, "unit_id": "vp",
            "nominee_kind": "individual", "nominee_name": "Nguyễn Thị Hoa", "employee_id": None,
            "award_code": code, "award_year": year, "decision_number": number or f"{year}/QĐ",
            "decision_date": date(year, 12, 20), "signer": None, "money": 0, "state": state, "source": "import",
            "nomination_id": None, "contact_email": None, "nominee_email": None,
            "recorded_at": datetime(2025, 1, 1, tzinfo=timezone.utc), "recorded_by": "test", "revocation": None}


def history(*rows):
    return [{"year": year, "rating": "HTXSNV", "titles": list(titles), "initiatives": [], "disciplined": False}
            for year, titles in rows]


HOLDER = "vp:VP-0042"  # register.nominee_key("vp", EXAMPLE's nominee), checked below
COLLECTIVE = {"kind": "collective", "name": "Phòng Tổ chức cán bộ", "email": "tccb@example.vn",
              "members_total": 12, "members_female": 5, "members_ldtt": 12, "members_completed": 12}
CASES = {  # name: (body changes, register entries, register_check)
    "plain": ({}, [], register.STRICT),
    "claim_in_register": ({"history": history((2025, ["CSTDCS"]))}, [entry(HOLDER, "CSTDCS", 2025)], register.STRICT),
    "claim_before_register": ({"history": history((2024, ["CSTDCS"]), (2025, []))},
                              [entry("vp:other", "LDTT", 2025)], register.STRICT),
    "claim_empty_register": ({"history": history((2025, ["CSTDCS"]))}, [], register.STRICT),
    "claim_missing_strict": ({"history": history((2025, ["CSTDCS"]))}, [entry("vp:other", "LDTT", 2020)],
                             register.STRICT),
    "claim_missing_warn": ({"history": history((2025, ["CSTDCS"]))}, [entry("vp:other", "LDTT", 2020)],
                           register.WARN),
    "claim_missing_off": ({"history": history((2025, ["CSTDCS"]))}, [entry("vp:other", "LDTT", 2020)],
                          register.OFF),
    "claim_revoked_warn": ({"history": history((2025, ["CSTDCS"]))}, [entry(HOLDER, "CSTDCS", 2025, "revoked")],
                           register.WARN),
    "untyped_titles_counted": ({"award_code": "CSTDCS", "history": history((2025, []))},
                               [entry(HOLDER, "LDTT", 2025), entry(HOLDER, "LDTT", 2024, number="x")],
                               register.STRICT),
    "collective": ({"nominee": COLLECTIVE, "award_code": "TTLDTT", "history": history((2025, ["TTLDTT"]))},
                   [entry("vp:#phòng tổ chức cán bộ", "TTLDTT", 2025), entry("vp:other", "LDTT", 2021)],
                   register.WARN),
}


def outcome(submit):
    try:
        return "stored", submit()
    except (Ineligible, Conflict) as refused:
        return type(refused).__name__, refused.detail


def stored(tables):
    with tables.engine.connect() as connection:
        rows = connection.execute(sa.select(nominations).order_by(nominations.c.submission_key)).mappings().all()
        events = connection.execute(sa.text("SELECT event_type, payload FROM outbox ORDER BY created_at")).all()
    return ([{k: v for k, v in row.items() if k != "submission_key"} for row in rows],
            [(kind, payload if isinstance(payload, dict) else json.loads(payload))
             for kind, payload in events])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("known", [False, True], ids=["new_token", "known_token"])
def test_a_submission_stores_and_announces_what_the_code_before_did(databases, fixed_ids, case, known):
    changes, entries, register_check = CASES[case]
    before_db, now_db = databases
    assert register.nominee_key("vp", _load_nomination(EXAMPLE)["nominee"]) == HOLDER
    body = _load_nomination({**copy.deepcopy(EXAMPLE), **changes, "submission_key": "k-1"})
    results = []
    for tables, submit in ((before_db, before_submit), (now_db, handlers.submit_nomination)):
        token = handlers.issue_unit_token("vp", tables.uow(), NOW)
        if entries:
            with tables.sessions() as session, session.begin():
                session.execute(sa.insert(register_entries), entries)
        if known and submit is handlers.submit_nomination:
            with tables.uow() as uow:  # learnt, as by any earlier call
                handlers.authenticate_unit(token, uow)
            assert handlers.KNOWN_TOKENS.unit_for(domain.hash_token(token)) == "vp"
        first = outcome(lambda: submit(body, token, tables.uow(), RULES, NOW, register_check))
        again = outcome(lambda: submit(body, token, tables.uow(), RULES, NOW, register_check))
        other = outcome(lambda: submit({**body, "achievements": "Khác."}, token, tables.uow(), RULES, NOW,
                                       register_check))
        results.append(((first, again, other), stored(tables)))
    assert results[1] == results[0]
