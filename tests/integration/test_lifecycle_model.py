"""A stateful model of the nomination lifecycle (issue #21): random interleavings of what units, the
operator, council members, the deadline timer and the bus do, over the real handlers of intake and review
on real databases (SQLite and PostgreSQL), checked after every step.

The bus is the model's (tests/integration/lifecycle_bus.py): any pending event may go next (two relays,
retries coming back late), any delivered one may come again (same message id: the inbox dedupes), and
events may be held back for as long as the model likes. ``TDKT_MODEL_EXAMPLES`` and ``TDKT_MODEL_STEPS``
make it longer (``make model``). Long because it is one state machine: its actors, its invariants and the
bookkeeping they share read best side by side.
"""
import itertools
import json
import os
import uuid
from datetime import timedelta
from unittest import mock

from hypothesis import HealthCheck, Phase, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

import services.review.service as review_service
from services.intake import handlers as intake_handlers
from services.intake.eligibility import assess
from services.review import closing
from shared import contract
from shared.contract.errors import Conflict, Ineligible, NotFound, ValidationError
from shared.platform.outbox import utcnow
from tests.integration.lifecycle_bus import CONFIG, RULES, Bus, Service, world  # noqa: F401 - the fixture
from tests.integration.model_world import AWARDS, COUNCILS, PERSONS, YEARS, agree, body_of, directory, respelled

EXAMPLES = int(os.environ.get("TDKT_MODEL_EXAMPLES", "40"))
STEPS = int(os.environ.get("TDKT_MODEL_STEPS", "40"))
SELECTED = ("advanced", "approved", "proposed")
MARKS = ("approve", "approve", "approve", "approve", "reject", "abstain")
LIVE = ("submitted", "in_review", "returned", "approved", "proposed")


class Lifecycle(RuleBasedStateMachine):
    intake: Service
    review: Service

    def __init__(self):
        super().__init__()
        # ids in the order things happen, so an example replays the same (hypothesis draws from lists of them)
        counter = itertools.count(1)
        self.ids = mock.patch("uuid.uuid4", lambda: uuid.UUID(int=next(counter)))
        self.ids.start()
        for service in (self.intake, self.review):
            service.reset()
        self.review.call("load_directory", directory())
        token = intake_handlers.issue_unit_token("vp", self.intake.tables.uow(), utcnow())
        self.intake.dependencies["auth_token"] = token
        self.bus = Bus({contract.INTAKE: self.intake, contract.REVIEW: self.review})
        self.keys = {}  # submission key -> (body, nomination id or None)
        self.nominations = []
        self.sittings = {}  # sitting id -> {"council", "deadline", "ballots": {member: ballot}}
        self.voters = {}  # sitting id -> {member: choices} of the votes review counted
        self.considered = {}  # (sitting id, nomination id) -> (award, year, revision) put on its agenda
        self.quotas = {}  # (council, award, year) -> places
        self.selected = {}  # (council, award, year) -> how many the council passed, as the model saw it

    def teardown(self):
        self.ids.stop()

    # one rule: who acts next, and how --------------------------------------------------------------
    # (one rule, not one per actor: hypothesis would switch whole actors off for an example, and an
    # example without the bus or without units tells little)
    @rule(data=st.data(), actor=st.sampled_from(("a_unit", "the_bus", "the_operator", "members", "a_unit",
                                                 "the_bus", "the_bus_settles")))
    def step(self, data, actor):
        getattr(self, f"{actor}_acts")(data)

    def a_unit_acts(self, data):
        act = data.draw(st.sampled_from(("submit", "submit", "retry", "amend", "withdraw")))
        if act == "submit" or not self.keys:
            for _ in range(data.draw(st.integers(1, 3))):
                self.submit(data.draw(st.sampled_from(PERSONS)), data.draw(st.sampled_from(AWARDS)),
                            data.draw(st.sampled_from(YEARS)), data.draw(st.booleans()))
        elif act == "retry":
            self.retry(data.draw(st.sampled_from(sorted(self.keys))), data.draw(st.booleans()))
        elif self.nominations and act == "amend":
            self.amend(data.draw(st.sampled_from(self.nominations)), data.draw(st.sampled_from(AWARDS)),
                       data.draw(st.sampled_from(YEARS)), data.draw(st.booleans()))
        elif self.nominations:
            self.withdraw(data.draw(st.sampled_from(self.nominations)))

    def the_operator_acts(self, data):
        act = data.draw(st.sampled_from(("convene", "convene", "close", "resolve_tie", "resolve_tie", "return",
                                         "set_quota", "deadline")))
        if act == "convene" or not self.sittings and act in ("close", "deadline"):
            self.convene(data.draw(st.sampled_from(("hd-vp", "hd-vp", "hd-bo"))))
        elif act == "close":
            self.call_review("close_sitting", data.draw(st.sampled_from(list(self.sittings))))
        elif act == "deadline":
            self.deadline_passes()
        elif act == "resolve_tie":
            self.resolve_tie(data)
        elif act == "return" and self.nominations:
            self.return_nomination(data.draw(st.sampled_from(self.nominations)))
        elif act == "set_quota":
            self.set_quota(data.draw(st.sampled_from(sorted(COUNCILS))), data.draw(st.sampled_from(AWARDS)),
                           data.draw(st.sampled_from(YEARS)), data.draw(st.integers(0, 3)))

    def members_acts(self, data):
        if not self.sittings:
            return
        open_ones = [s["id"] for s in self.review.query("SELECT id FROM sittings WHERE status = 'open' "
                                                        "ORDER BY convened_at, id")]
        late = data.draw(st.integers(0, 4)) == 0  # now and then a vote for a sitting that is over
        sitting_id = data.draw(st.sampled_from(open_ones if open_ones and not late else list(self.sittings)))
        ballots = sorted(self.sittings[sitting_id]["ballots"].items())
        voters = data.draw(st.lists(st.sampled_from(ballots), min_size=1, max_size=len(ballots),
                                   unique_by=lambda pair: pair[0]))
        if data.draw(st.integers(0, 5)) == 0:  # now and then a member votes a second time
            voters.append(voters[0])
        for member, ballot in voters:
            choices = {item["nomination_id"]: data.draw(st.sampled_from(MARKS))
                       for item in ballot["agenda"]}
            self.vote(sitting_id, member, ballot["ballot_token"], choices, twice=data.draw(st.booleans()))

    def the_bus_acts(self, data):
        """In order (oldest), out of order (any: another relay, a retry coming back late), or again (at
        least once: the same message id). Whatever is not delivered is held back."""
        for move in data.draw(st.lists(st.sampled_from(("oldest", "any", "any", "again")), min_size=1, max_size=8)):
            if move == "again" and self.bus.delivered:
                self.deliver(data.draw(st.sampled_from(self.bus.delivered)))
            elif self.bus.pending:
                self.deliver(self.bus.pending[0] if move == "oldest" else data.draw(st.sampled_from(self.bus.pending)))

    def the_bus_settles_acts(self, data):
        while self.bus.pending:
            self.deliver(data.draw(st.sampled_from(self.bus.pending)))

    # what units do -------------------------------------------------------------------------------
    def submit(self, person, award, year, excellent):
        key = f"k-{len(self.keys) + 1}"
        body = body_of(key, person, award, year, excellent)
        try:
            receipt = self.call_intake("submit_nomination", body)
        except Ineligible:
            self.keys[key] = (body, None)
            return
        assert receipt["duplicate"] is False
        self.keys[key] = (body, receipt["nomination_id"])
        self.nominations.append(receipt["nomination_id"])

    def retry(self, key, spelled_again):
        """The same submission key and body again (perhaps typed again): the first receipt."""
        body, nomination_id = self.keys[key]
        try:
            receipt = self.call_intake("submit_nomination", respelled(body) if spelled_again else body)
        except Ineligible:
            assert nomination_id is None, "a retry of a stored nomination answers its receipt"
            return
        if nomination_id is None:  # refused before (an initiative in use), accepted now it is free
            self.keys[key] = (body, receipt["nomination_id"])
            self.nominations.append(receipt["nomination_id"])
        else:
            assert (receipt["nomination_id"], receipt["duplicate"]) == (nomination_id, True)

    def amend(self, nomination_id, award, year, excellent):
        person = self.person_of(nomination_id)
        changes = {k: v for k, v in body_of("x", person, award, year, excellent).items()
                   if k in ("award_code", "award_year", "history")}
        try:
            self.call_intake("amend_nomination", nomination_id, changes)
        except (Conflict, Ineligible):
            pass

    def withdraw(self, nomination_id):
        try:
            self.call_intake("withdraw_nomination", nomination_id, "rút hồ sơ")
        except Conflict:
            pass

    # what the operator and the deadline timer do -------------------------------------------------
    def return_nomination(self, nomination_id):
        try:
            self.call_review("return_nomination", nomination_id, ["Bổ sung hồ sơ"])
        except (Conflict, NotFound):
            pass

    def convene(self, council):
        deadline = (utcnow() + timedelta(days=7)).replace(microsecond=0)
        try:
            sitting = self.call_review("convene_sitting", council, deadline.isoformat())
        except Conflict:
            return
        self.sittings[sitting["sitting_id"]].update(council=council, deadline=deadline)

    def resolve_tie(self, data):
        waiting = self.review.query("SELECT id, pending_ties FROM sittings WHERE status = 'awaiting_tie_break' "
                                    "ORDER BY convened_at, id")
        if not waiting:
            return
        sitting = data.draw(st.sampled_from(waiting))
        tie = data.draw(st.sampled_from(sorted(_json(sitting["pending_ties"]).items())))[1]
        chosen = data.draw(st.permutations(tie["tied"]))[:tie["places"]]
        try:
            self.call_review("resolve_tie", sitting["id"], tie["award_code"], chosen)
        except ValidationError:  # the tie changed since (a withdrawal, new places): the chair looks again
            pass

    def set_quota(self, council, award, year, places):
        self.call_review("set_quota", council, award, year, places)
        self.quotas[(council, award, year)] = places

    def deadline_passes(self):
        later = max(s["deadline"] for s in self.sittings.values()) + timedelta(minutes=1)
        with mock.patch.object(review_service, "utcnow", lambda: later):
            self.call_review("close_sittings_past_deadline")

    # what council members do ---------------------------------------------------------------------
    def vote(self, sitting_id, member, token, choices, twice):
        """One ``council.vote_cast`` (twice: the same message again): counted once when the sitting is open
        and the member has not voted, otherwise rejected."""
        [status] = [s["status"] for s in self.review.query("SELECT status FROM sittings WHERE id = :id",
                                                            id=sitting_id)]
        votes = self.voters.setdefault(sitting_id, {})
        expected = status == "open" and member not in votes
        message_id = str(uuid.uuid4())
        for _ in range(2 if twice else 1):
            self.review.call("on_vote_cast", {"ballot_token": token, "choices": choices},
                             message_id=message_id, config=CONFIG, rules=RULES)
            counted = [m for m in self.pump() if m.event_type == contract.VOTE_COUNTED]
            if expected:
                assert [m.payload["member_id"] for m in counted] == [member], "a valid vote is counted once"
                votes[member], expected = choices, False
            else:
                assert not counted, "a vote after the close, or a second one, or a duplicate is not counted"

    # invariants ----------------------------------------------------------------------------------
    @invariant()
    def both_services_tell_the_same_story_of_every_settled_nomination(self):
        nominations = {n["id"]: n for n in self.intake.query(
            "SELECT id, status, stage, award_code, award_year, revision FROM nominations")}
        cases = {c["nomination_id"]: c for c in self.review.query(
            "SELECT nomination_id, state, stage, award_code, award_year, revision, outcome, considered FROM cases")}
        for nomination_id, nomination in nominations.items():
            if not self.bus.in_flight(nomination_id):
                problem = agree(nomination, cases.get(nomination_id))
                assert problem is None, f"{nomination_id}: {problem}"

    @invariant()
    def every_sitting_can_be_finished_by_an_operator(self):
        for sitting in self.review.query("SELECT id FROM sittings WHERE status != 'closed'"):
            uow = self.review.dry_run()
            try:
                result = closing.close_sitting(sitting["id"], uow, RULES, utcnow(), CONFIG.secret_key)
                for _ in range(len(AWARDS) * len(YEARS) + 1):
                    if result["status"] == "closed":
                        break
                    tie = sorted(result["pending_ties"].items())[0][1]
                    result = closing.resolve_tie(sitting["id"], tie["award_code"], tie["tied"][:tie["places"]],
                                                 uow, RULES, utcnow())
                assert result["status"] == "closed", f"sitting {sitting['id']} cannot be finished: {result}"
            finally:
                uow.discard()

    @invariant()
    def every_counted_vote_is_in_the_tally_once(self):
        marks = {}
        for row in self.review.query("SELECT sitting_id, nomination_id, approve, reject, abstain FROM agenda"):
            marks[(row["sitting_id"], row["nomination_id"])] = (row["approve"], row["reject"], row["abstain"])
        status = {row["id"]: row["status"] for row in self.review.query("SELECT id, status FROM sittings")}
        for sitting_id, votes in self.voters.items():
            for (sitting, nomination_id), tally in marks.items():
                if sitting == sitting_id:
                    cast = [choices[nomination_id] for choices in votes.values()]
                    if status[sitting_id] == "open":  # counted when voting ends: no partial tally meanwhile
                        assert tally == (0, 0, 0)
                    else:
                        assert tally == tuple(cast.count(c) for c in ("approve", "reject", "abstain"))
            waiting = self.review.query("SELECT code FROM receipts WHERE sitting_id = :id AND sealed IS NOT NULL",
                                        id=sitting_id)
            assert len(waiting) == (len(votes) if status[sitting_id] == "open" else 0)
            voted = self.review.query("SELECT member_id FROM roster WHERE sitting_id = :id AND voted", id=sitting_id)
            assert sorted(m["member_id"] for m in voted) == sorted(votes)

    @invariant()
    def an_initiative_backs_one_live_award_of_its_person(self):
        by_person = {}
        for row in self.intake.query("SELECT id, status, body, rule_set, unit_id FROM nominations"):
            if row["status"] in LIVE:
                body = _json(row["body"])
                relied_on = assess(body, RULES.by_id(row["rule_set"])).initiatives
                person = body["nominee"]["employee_id"]
                for initiative in relied_on:
                    assert (person, initiative) not in by_person, (
                        f"{initiative} backs {by_person[(person, initiative)]} and {row['id']}")
                    by_person[(person, initiative)] = row["id"]
        held = {(r["person_key"].split(":", 1)[1], r["initiative_id"]): r["nomination_id"]
                for r in self.intake.query("SELECT * FROM initiative_uses")}
        assert held == by_person, "the ledger holds exactly the live nominations' initiatives"

    # the model's own bookkeeping -------------------------------------------------------------------
    def call_intake(self, method, *args):
        try:
            return self.intake.call(method, *args)
        finally:
            self.pump()

    def call_review(self, method, *args):
        try:
            return self.review.call(method, *args, config=CONFIG, rules=RULES)
        finally:
            self.pump()

    def deliver(self, message):
        self.bus.deliver(message)
        self.pump()

    def pump(self):
        """What the services committed, onto the bus, and into the model's records."""
        messages = self.bus.collect(contract.INTAKE, self.intake.drain_outbox())
        messages += self.bus.collect(contract.REVIEW, self.review.drain_outbox())
        for message in messages:
            self.observe(message.event_type, message.payload)
        return messages

    def observe(self, event_type, event):
        if event_type == contract.BALLOT_ISSUED:
            sitting = self.sittings.setdefault(event["sitting_id"], {"ballots": {}})
            sitting["ballots"][event["member"]["id"]] = event
        elif event_type == contract.NOMINATIONS_ON_AGENDA:
            for item in event["items"]:
                self.considered[(event["sitting_id"], item["nomination_id"])] = (
                    item["award_code"], item["award_year"], item["revision"])
        elif event_type in (contract.NOMINATION_DECIDED, contract.NOMINATION_ADVANCED):
            voted = self.considered[(event["sitting_id"], event["nomination_id"])]
            assert (event["award_code"], event["award_year"], event["revision"]) == voted, (
                f"{event_type} names {event} but the council voted on {voted}")
        elif event_type == contract.SITTING_CLOSED:
            self.quotas_held(event)

    def quotas_held(self, closed):
        """At every close: what a council passed of an award in a year stays within its places."""
        here = {}
        for result in closed["results"]:
            if result["outcome"] in SELECTED:
                award, year, _ = self.considered[(closed["sitting_id"], result["nomination_id"])]
                here[(closed["council_id"], award, year)] = here.get((closed["council_id"], award, year), 0) + 1
        for key, count in here.items():
            if key in self.quotas:
                assert count <= max(0, self.quotas[key] - self.selected.get(key, 0)), (
                    f"{key}: {count} passed at {closed['sitting_id']} with {self.quotas[key]} places, "
                    f"{self.selected.get(key, 0)} taken before")
            self.selected[key] = self.selected.get(key, 0) + count

    def person_of(self, nomination_id):
        return next(body["nominee"]["employee_id"] for body, stored in self.keys.values() if stored == nomination_id)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def test_intake_and_review_tell_one_truth_whatever_the_interleaving(world):
    Lifecycle.intake, Lifecycle.review = world
    run_state_machine_as_test(Lifecycle, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        derandomize=os.environ.get("TDKT_MODEL_RANDOM") is None,
        phases=[p for p in Phase if p != Phase.shrink or os.environ.get("TDKT_MODEL_SHRINK", "1") == "1"],
        suppress_health_check=list(HealthCheck)))
