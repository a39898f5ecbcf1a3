"""Intake's data migrations, on SQLite and PostgreSQL: claims recorded before ids were caseless."""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from services.intake.models import initiative_uses, nominations
from services.intake.service import MIGRATIONS
from shared.db import make_engine, migrate

T0 = datetime(2025, 11, 20, 8, 0, tzinfo=timezone.utc)


def upgrade(engine, target):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)


def nomination(nomination_id, unit_id, minutes):
    return {"id": nomination_id, "unit_id": unit_id, "submission_key": nomination_id, "fingerprint": "f",
            "award_code": "CSTDCS", "award_year": 2025, "status": "submitted", "stage": "unit", "body": {},
            "history": [], "submitted_at": T0 + timedelta(minutes=minutes), "rule_set": "nd152-2025"}


def test_claims_recorded_in_any_case_are_folded_and_a_claim_made_twice_keeps_the_earlier(db_urls):
    engine = make_engine(db_urls["intake"], pool_size=1)
    try:
        upgrade(engine, "intake_0004")
        with engine.begin() as connection:
            connection.execute(sa.insert(nominations), [nomination("n-early", "vp:hn", 0), nomination("n-late", "vp:hn", 5),
                                                        nomination("n-other", "tccb", 1)])
            connection.execute(sa.insert(initiative_uses), [
                {"person_key": "vp:hn:vp-0042", "initiative_id": "sk-1", "nomination_id": "n-late"},
                {"person_key": "vp:hn:VP-0042", "initiative_id": "SK-1", "nomination_id": "n-early"},
                {"person_key": "vp:hn:vp-0042", "initiative_id": "sk-2", "nomination_id": "n-late"},
                {"person_key": "tccb:Tc-7", "initiative_id": "Sk:9", "nomination_id": "n-other"}])
        migrate(engine, MIGRATIONS)
        with engine.connect() as connection:
            claims = set(connection.execute(sa.select(initiative_uses)).all())
        assert claims == {("vp:hn:VP-0042", "SK-1", "n-early"), ("vp:hn:VP-0042", "SK-2", "n-late"),
                          ("tccb:TC-7", "SK:9", "n-other")}
    finally:
        engine.dispose()
