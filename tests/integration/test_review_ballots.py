"""Ballots under stress: duplicated and reordered deliveries, concurrent workers, secrecy, quotas and ties."""
import logging
import random
import uuid

import pytest
import sqlalchemy as sa

from services.review.service import MIGRATIONS, ReviewService
from tests.harness import wait_until
from tests.integration.delivery import Tables
from tests.integration.review_support import TOMORROW, Review, directory, submitted



def open_sitting(review, council="hd-vp", nominations=(("n-1", "LDTT", "male"),)):
    for nomination_id, award, gender in nominations:
        review.submit(submitted(nomination_id, award, gender))
    sitting_id = review.call("convene_sitting", council, TOMORROW)["sitting_id"]
    size = 7 if council == "hd-vp" else 15
    return sitting_id, wait_until(lambda: len(review.ballots(sitting_id)) == size and review.ballots(sitting_id))


def test_votes_delivered_twice_and_out_of_order_give_the_same_tally(review):
    sitting_id, ballots = open_sitting(review, nominations=[("n-1", "LDTT", "male"), ("n-2", "GK", "female")])
    choices = {member: {"n-1": random.Random(member).choice(["approve", "reject", "abstain"]),
                        "n-2": "approve" if member[-1] in "1357" else "reject"} for member in ballots}
    votes = [(ballots[member]["ballot_token"], choices[member], str(uuid.uuid4())) for member in ballots]
    deliveries = votes * 2
    random.Random(7).shuffle(deliveries)
    for token, member_choices, message_id in deliveries:
        review.vote(token, member_choices, message_id)
    result = review.call("sitting_result", sitting_id)
    expected = {nid: {c: sum(1 for m in choices.values() if m[nid] == c) for c in ("approve", "reject", "abstain")}
                for nid in ("n-1", "n-2")}
    assert {i["nomination_id"]: {c: i[c] for c in ("approve", "reject", "abstain")} for i in result["items"]} == expected
    assert result["participants"] == 7 and review.events("vote_rejected") == []  # duplicates had no effect


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_concurrent_votes_on_two_review_instances_are_each_counted_once(container_factory, rabbit_config,
                                                                         service_env):
    instances = [container_factory(ReviewService, rabbit_config) for _ in range(2)]
    for container in instances:
        container.start()
    review = Review(instances[0], rabbit_config)
    try:
        review.call("load_directory", directory(unit_members=7, ministry_members=15))
        for n in range(3):  # either instance may take each one
            review.intake("nomination_submitted", submitted(f"n-{n}", "CSTDCS"), f"submitted-{n}", {})
        wait_until(lambda: all(_recorded(review, f"n-{n}") for n in range(3)), what="three cases")
        advance = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
        unit_ballots = wait_until(lambda: len(review.ballots(advance)) == 7 and review.ballots(advance))
        for ballot in unit_ballots.values():  # published at once, consumed by 2 x 10 workers
            review.council("vote_cast", {"ballot_token": ballot["ballot_token"], "choices": {
                f"n-{n}": "approve" for n in range(3)}}, str(uuid.uuid4()), {})
        closed = wait_until(lambda: review.events("sitting_closed"), timeout=30, what="the sitting to close")
        assert [(r["approve"], r["outcome"]) for r in closed[0]["results"]] == [(7, "approved")] * 3
        assert review.events("vote_rejected") == []
    finally:
        review.close()


def _recorded(review, nomination_id):
    from shared.contract.errors import NotFound

    try:
        return review.call("get_case", nomination_id)
    except NotFound:
        return None


def test_no_table_row_and_no_log_line_links_a_member_to_a_choice(review, db_urls, caplog):
    caplog.set_level(logging.DEBUG)
    sitting_id, ballots = open_sitting(review, nominations=[("n-s", "LDTT", "female")])
    choices = {member: ("approve" if member in ("m-vp-1", "m-vp-4") else "reject") for member in ballots}
    for member, ballot in ballots.items():
        review.vote(ballot["ballot_token"], {"n-s": choices[member]})
    assert review.call("sitting_result", sitting_id)["items"][0]["approve"] == 2

    tables = Tables(db_urls["review"], MIGRATIONS)
    try:
        with tables.engine.connect() as connection:
            rows = [(table, dict(row)) for table in sa.inspect(connection).get_table_names()
                    for row in connection.execute(sa.text(f"SELECT * FROM {table}")).mappings()]
    finally:
        tables.dispose()
    assert any(table == "roster" for table, _ in rows)  # participation is recorded
    for table, row in rows:
        text = " ".join(str(value) for value in row.values())
        members_named = [m for m in ballots if m in text]
        assert not (members_named and any(word in text for word in ("approve", "reject", "abstain"))), (table, row)
    log = "\n".join(record.getMessage() for record in caplog.records)
    assert all(ballot["ballot_token"] not in log for ballot in ballots.values())
    for line in log.splitlines():
        assert not (any(m in line for m in ballots) and any(w in line for w in ("approve", "reject"))), line


def test_a_quota_ranks_by_approvals_and_a_tie_waits_for_the_chair(review):
    review.call("set_quota", "hd-vp", "LDTT", 2025, 2)
    sitting_id, ballots = open_sitting(review, nominations=[
        ("n-a", "LDTT", "male"), ("n-b", "LDTT", "male"), ("n-c", "LDTT", "male")])
    for member, ballot in ballots.items():  # n-a 7, n-b 6, n-c 6 approvals
        review.vote(ballot["ballot_token"], {"n-a": "approve", "n-b": "reject" if member == "m-vp-1" else "approve",
                                             "n-c": "reject" if member == "m-vp-2" else "approve"})
    waiting = review.call("sitting_result", sitting_id)
    assert waiting["status"] == "awaiting_tie_break"
    assert waiting["pending_ties"] == {"LDTT/2025": {"award_code": "LDTT", "award_year": 2025,
                                                     "tied": ["n-b", "n-c"], "places": 1}}
    result = review.call("resolve_tie", sitting_id, "LDTT", ["n-c"])
    outcomes = {item["nomination_id"]: item["outcome"] for item in result["items"]}
    assert outcomes == {"n-a": "approved", "n-b": "rejected", "n-c": "approved"}


def test_returned_and_decided_nominations_show_in_the_statistics(review):
    review.submit(submitted("n-r", "LDTT"))
    review.call("return_nomination", "n-r", ["Thiếu biên bản"])
    [returned] = wait_until(lambda: review.events("nomination_returned"))
    assert returned["reasons"] == ["Thiếu biên bản"] and review.call("get_case", "n-r")["state"] == "returned"
    sitting_id, ballots = open_sitting(review, nominations=[("n-w", "LDTT", "female")])
    for ballot in ballots.values():
        review.vote(ballot["ballot_token"], {"n-w": "approve"})
    stats = review.call("statistics", 2025)
    assert stats["by_award"]["LDTT"]["approved"] == 1 and stats["by_gender"]["female"] == 1
    assert stats["total"] == 1


def test_loading_the_directory_tells_notify_the_units_names_and_nothing_of_their_members(review):
    """The review fixture loaded the directory once; loading it again announces it again."""
    review.call("load_directory", directory())
    loads = wait_until(lambda: len(review.events("directory_loaded")) == 2 and review.events("directory_loaded"),
                       what="two directory_loaded events")
    assert {u["id"]: u["name"] for u in loads[-1]["units"]} == {u["id"]: u["name"] for u in directory()["units"]}
    assert set(loads[-1]) == {"units"} and all(set(u) == {"id", "name"} for u in loads[-1]["units"])
