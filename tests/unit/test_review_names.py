"""Review's outcome events call a case by its names (issue #14), so notify's mails can speak in names."""
from datetime import datetime, timezone

from services.review import domain
from shared.contract.schemas import ReviewOutcome, load

CASE = {"nomination_id": "0cc2202f" * 4, "unit_id": "vp", "award_code": "LDTT", "award_year": 2026, "revision": 1,
        "nominee": {"kind": "individual", "name": "Trần Thị Bình", "email": "binh@example.vn"},
        "contact_email": "vanphong@example.vn"}
TALLY = {"approve": 6, "reject": 1, "abstain": 0, "members": 7, "required": 6}


def test_a_decision_names_the_nominee_the_unit_and_the_council_and_passes_its_wire_schema():
    named = domain.names(CASE, {"vp": "Văn phòng Bộ"}, {"id": "hd-vp", "name": "Hội đồng TĐKT Văn phòng Bộ"})
    event = domain.outcome_event(CASE, "approved", "unit", TALLY, [], "s-1", datetime.now(timezone.utc), named)

    assert (event["nominee_name"], event["unit_name"], event["council_name"]) == (
        "Trần Thị Bình", "Văn phòng Bộ", "Hội đồng TĐKT Văn phòng Bộ")
    assert load(ReviewOutcome, event)["council_id"] == "hd-vp"


def test_a_unit_missing_from_the_directory_is_left_unnamed_rather_than_named_wrongly():
    assert domain.names(CASE, {}) == {"nominee_name": "Trần Thị Bình"}
