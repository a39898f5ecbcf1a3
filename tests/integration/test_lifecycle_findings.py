"""What the lifecycle model (test_lifecycle_model.py) found, each as one interleaving on the real handlers
and databases (SQLite and PostgreSQL), with the model's bus."""
import pytest

from shared import contract
from services.intake import handlers as intake_handlers
from shared.platform.outbox import utcnow
from tests.integration.lifecycle_bus import CONFIG, RULES, Bus, world  # noqa: F401 - the fixture
from tests.integration.model_world import agree, body_of, directory


@pytest.fixture
def two(world):  # noqa: F811
    intake, review = world
    for service in world:
        service.reset()
    review.call("load_directory", directory())
    intake.dependencies["auth_token"] = intake_handlers.issue_unit_token("vp", intake.tables.uow(), utcnow())
    bus = Bus({contract.INTAKE: intake, contract.REVIEW: review})
    return intake, review, bus


def pump(bus, intake, review):
    bus.collect(contract.INTAKE, intake.drain_outbox())
    return bus.collect(contract.REVIEW, review.drain_outbox())


def deliver(bus, intake, review, event_type):
    [message] = [m for m in bus.pending if m.event_type == event_type]
    bus.deliver(message)
    pump(bus, intake, review)


def views(intake, review, nomination_id):
    [nomination] = intake.query("SELECT id, status, stage, award_code, award_year, revision FROM nominations")
    [case] = review.query("SELECT nomination_id, state, stage, award_code, award_year, revision, outcome, "
                          "considered FROM cases")
    return nomination, case


def test_a_withdrawal_that_crossed_the_decision_gives_way_to_it_on_both_sides(two):
    intake, review, bus = two
    nomination_id = intake.call("submit_nomination", body_of("k-1", "VP-1", "CSTDCS", 2025, False))["nomination_id"]
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_SUBMITTED)
    sitting = review.call("convene_sitting", "hd-vp", "2099-01-01T00:00:00+00:00", config=CONFIG, rules=RULES)
    ballots = [m.payload for m in pump(bus, intake, review) if m.event_type == contract.BALLOT_ISSUED]
    deliver(bus, intake, review, contract.NOMINATIONS_ON_AGENDA)
    intake.call("withdraw_nomination", nomination_id, "rút")  # the unit withdraws while the council votes
    pump(bus, intake, review)
    for ballot in ballots:  # the last vote closes the sitting before review hears of the withdrawal
        review.call("on_vote_cast", {"ballot_token": ballot["ballot_token"], "choices": {nomination_id: "approve"}},
                    message_id=ballot["member"]["id"], config=CONFIG, rules=RULES)
    pump(bus, intake, review)
    assert review.call("sitting_result", sitting["sitting_id"], config=CONFIG)["items"][0]["outcome"] == "approved"

    deliver(bus, intake, review, contract.NOMINATION_WITHDRAWN)  # too late: review keeps the decision
    deliver(bus, intake, review, contract.NOMINATION_DECIDED)
    nomination, case = views(intake, review, nomination_id)
    assert agree(nomination, case) is None
    assert nomination["status"] == "approved"
    held = intake.query("SELECT initiative_id, nomination_id FROM initiative_uses")
    assert held == [{"initiative_id": "SK-VP-1-2025", "nomination_id": nomination_id}]  # released, taken again


def test_an_agenda_event_overtaken_by_its_sittings_outcome_leaves_the_nomination_at_the_next_stage(two):
    intake, review, bus = two
    nomination_id = intake.call("submit_nomination", body_of("k-1", "VP-1", "BK_BO", 2025, True))["nomination_id"]
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_SUBMITTED)
    review.call("convene_sitting", "hd-vp", "2099-01-01T00:00:00+00:00", config=CONFIG, rules=RULES)
    ballots = [m.payload for m in pump(bus, intake, review) if m.event_type == contract.BALLOT_ISSUED]
    for ballot in ballots:
        review.call("on_vote_cast", {"ballot_token": ballot["ballot_token"], "choices": {nomination_id: "approve"}},
                    message_id=ballot["member"]["id"], config=CONFIG, rules=RULES)
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_ADVANCED)  # another relay published it first
    deliver(bus, intake, review, contract.NOMINATIONS_ON_AGENDA)
    nomination, case = views(intake, review, nomination_id)
    assert (nomination["stage"], nomination["status"], case["stage"]) == ("ministry", "in_review", "ministry")
    assert agree(nomination, case) is None


def test_a_refusal_reaching_a_withdrawn_nomination_claims_no_initiative_again(two):
    intake, review, bus = two
    nomination_id = intake.call("submit_nomination", body_of("k-1", "VP-1", "BK_BO", 2025, True))["nomination_id"]
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_SUBMITTED)
    review.call("convene_sitting", "hd-vp", "2099-01-01T00:00:00+00:00", config=CONFIG, rules=RULES)
    pump(bus, intake, review)  # intake has not heard of the agenda yet
    intake.call("amend_nomination", nomination_id, {"award_code": "LDTT"})
    intake.call("withdraw_nomination", nomination_id, "rút")
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_AMENDED)  # refused: the council holds revision 1
    deliver(bus, intake, review, contract.AMENDMENT_REFUSED)
    assert intake.query("SELECT * FROM initiative_uses") == []  # withdrawn: its initiatives may back another


def test_a_dossier_returned_at_the_ministry_and_amended_to_another_award_is_at_the_unit_stage_on_both_sides(two):
    intake, review, bus = two
    nomination_id = intake.call("submit_nomination", body_of("k-1", "VP-1", "BK_BO", 2025, True))["nomination_id"]
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_SUBMITTED)
    review.call("convene_sitting", "hd-vp", "2099-01-01T00:00:00+00:00", config=CONFIG, rules=RULES)
    ballots = [m.payload for m in pump(bus, intake, review) if m.event_type == contract.BALLOT_ISSUED]
    for ballot in ballots:
        review.call("on_vote_cast", {"ballot_token": ballot["ballot_token"], "choices": {nomination_id: "approve"}},
                    message_id=ballot["member"]["id"], config=CONFIG, rules=RULES)
    review.call("return_nomination", nomination_id, ["Bổ sung"], config=CONFIG, rules=RULES)
    pump(bus, intake, review)
    while bus.pending:
        bus.deliver(bus.pending[0])
        pump(bus, intake, review)
    intake.call("amend_nomination", nomination_id, {"award_code": "LDTT"})
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_AMENDED)
    nomination, case = views(intake, review, nomination_id)
    assert (nomination["stage"], case["stage"], case["state"]) == ("unit", "unit", "waiting")
    assert agree(nomination, case) is None


def sit_and_approve(bus, intake, review):
    """A unit sitting where every member approves everything; then every event is delivered."""
    review.call("convene_sitting", "hd-vp", "2099-01-01T00:00:00+00:00", config=CONFIG, rules=RULES)
    ballots = [m.payload for m in pump(bus, intake, review) if m.event_type == contract.BALLOT_ISSUED]
    for ballot in ballots:
        review.call("on_vote_cast", {"ballot_token": ballot["ballot_token"],
                                     "choices": {item["nomination_id"]: "approve" for item in ballot["agenda"]}},
                    message_id=f"{ballot['sitting_id']}/{ballot['member']['id']}", config=CONFIG, rules=RULES)
    pump(bus, intake, review)
    while bus.pending:
        bus.deliver(bus.pending[0])
        pump(bus, intake, review)


def test_a_nomination_passed_for_2025_then_amended_to_2024_takes_no_2024_place_of_its_own(two):
    intake, review, bus = two
    review.call("set_quota", "hd-vp", "BK_BO", 2024, 1, config=CONFIG, rules=RULES)
    nomination_id = intake.call("submit_nomination", body_of("k-1", "VP-1", "BK_BO", 2025, True))["nomination_id"]
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_SUBMITTED)
    sit_and_approve(bus, intake, review)  # advanced for 2025
    review.call("return_nomination", nomination_id, ["Bổ sung"], config=CONFIG, rules=RULES)
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_RETURNED)
    changes = {k: v for k, v in body_of("k-1", "VP-1", "BK_BO", 2024, True).items() if k in ("award_year", "history")}
    intake.call("amend_nomination", nomination_id, changes)
    pump(bus, intake, review)
    deliver(bus, intake, review, contract.NOMINATION_AMENDED)
    sit_and_approve(bus, intake, review)  # alone for BK_BO 2024, one place
    [again] = review.query("SELECT outcome FROM agenda WHERE outcome != 'advanced' OR sitting_id IN "
                           "(SELECT id FROM sittings ORDER BY convened_at DESC LIMIT 1)")
    assert again["outcome"] == "advanced"
