"""Sealed ballots on a real broker and database (issue #15): review opens each ballot with the sitting's
key inside the vote handler and keeps nothing of it; the key is gone once voting ends; every member's
receipt is on the published list, which is as long as the ballots counted; replayed, foreign, tampered
and (in production) unsealed ballots are refused, audited and change no tally."""
import base64
import dataclasses

import pytest
import sqlalchemy as sa

from services.review import sealing
from services.review.service import MIGRATIONS
from shared.contract.ballots import receipt_code, sealed_vote
from shared.platform.config import LOCAL_SECRET_KEY
from shared.platform.settings import Configuration
from tests.harness import wait_until
from tests.integration.delivery import Tap, Tables
from tests.integration.review_support import TOMORROW, submitted


def convene(review, *nomination_ids):
    for nomination_id in nomination_ids:
        review.submit(submitted(nomination_id, "LDTT"))
    sitting_id = review.call("convene_sitting", "hd-vp", TOMORROW)["sitting_id"]
    return sitting_id, wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))


def sitting_row(db_urls, sitting_id):
    tables = Tables(db_urls["review"], MIGRATIONS)
    try:
        with tables.engine.connect() as connection:
            return dict(connection.execute(sa.text("SELECT * FROM sittings WHERE id = :id"),
                                           {"id": sitting_id}).mappings().one())
    finally:
        tables.dispose()


def audited_rejections(db_urls):
    tables = Tables(db_urls["review"], MIGRATIONS)
    try:
        with tables.engine.connect() as connection:
            return list(connection.execute(sa.text(
                "SELECT detail FROM audit WHERE kind = 'vote_rejected' ORDER BY id")).scalars())
    finally:
        tables.dispose()


def test_every_member_finds_their_receipt_on_the_list_as_long_as_the_ballots_counted(review, db_urls):
    sitting_id, ballots = convene(review, "n-1", "n-2")
    sent = {}
    for number, (member, ballot) in enumerate(sorted(ballots.items())):
        if member == "m-vp-7":
            continue  # one member does not vote: six ballots, six receipts
        vote = sealed_vote(ballot["ballot_token"], ballot["public_key"],
                           {"n-1": "approve", "n-2": ("reject", "abstain", "approve")[number % 3]})
        sent[member] = receipt_code(vote["sealed"])
        review.cast(vote)
    counted = {e["member_id"]: e for e in wait_until(lambda: len(review.events("vote_counted")) == 6
                                                     and review.events("vote_counted"))}
    assert {member: event["receipt"] for member, event in counted.items()} == sent
    assert all(set(event) == {"sitting_id", "member_id", "receipt", "member"} for event in counted.values())
    assert counted["m-vp-1"]["member"]["email"] == "m1.vp@example.vn"

    result = review.call("close_sitting", sitting_id)
    assert (result["participants"], result["items"][0]["approve"]) == (6, 6)
    [published] = wait_until(lambda: review.events("receipts_published"), what="the receipts")
    assert published["codes"] == sorted(sent.values()) == result["receipts"]
    assert len(published["codes"]) == published["ballots_counted"] == result["participants"] == 6
    assert sorted(m["email"] for m in published["members"]) == sorted(b["member"]["email"] for b in ballots.values())
    assert "approve" not in str(published) and "m-vp" not in str(published)


def test_the_sitting_key_is_destroyed_at_the_close_and_a_captured_ballot_never_opens_again(review, db_urls):
    sitting_id, ballots = convene(review, "n-k")
    captured = [sealed_vote(b["ballot_token"], b["public_key"], {"n-k": "approve"}) for b in ballots.values()]
    public_key = next(iter(ballots.values()))["public_key"]
    during = sitting_row(db_urls, sitting_id)
    assert during["public_key"] == public_key and during["ballot_key"] is not None
    assert bytes(during["ballot_key"]) != base64.b64decode(public_key)  # stored encrypted, not in clear
    assert sealing.open_ballot(LOCAL_SECRET_KEY, during["ballot_key"], captured[0]["sealed"])  # while it runs

    for vote in captured[:5]:
        review.cast(vote)
    review.call("close_sitting", sitting_id)
    after = sitting_row(db_urls, sitting_id)
    assert after["status"] == "closed" and after["ballot_key"] is None
    for vote in captured:  # with everything the system keeps after the close: nothing opens them
        with pytest.raises(sealing.Unreadable):
            sealing.open_ballot(LOCAL_SECRET_KEY, after["ballot_key"], vote["sealed"])
        with pytest.raises(sealing.Unreadable):  # the key as it was, under another master secret
            sealing.open_ballot("another-master-secret-of-32-chars", during["ballot_key"], vote["sealed"])


def test_replayed_foreign_and_tampered_sealed_ballots_are_refused_audited_and_change_no_tally(review, db_urls):
    sitting_id, ballots = convene(review, "n-1")
    other_id, other_ballots = convene(review, "n-2")  # a second sitting, with a key of its own
    first = sealed_vote(ballots["m-vp-1"]["ballot_token"], ballots["m-vp-1"]["public_key"], {"n-1": "approve"})
    review.cast(first)
    token2 = ballots["m-vp-2"]["ballot_token"]
    sealed = sealed_vote(token2, ballots["m-vp-2"]["public_key"], {"n-1": "reject"})["sealed"]
    raw = bytearray(base64.b64decode(sealed))
    raw[-1] ^= 1
    bad = [
        ({"ballot_token": token2, "sealed": first["sealed"]}, "replayed_ballot"),  # m-vp-1's box, m-vp-2's token
        (first, "already_voted"),  # the same vote_cast sent again under a new message id
        (sealed_vote(token2, other_ballots["m-vp-2"]["public_key"], {"n-1": "reject"}), "unreadable_ballot"),
        ({"ballot_token": token2, "sealed": base64.b64encode(bytes(raw)).decode()}, "unreadable_ballot"),
        ({"ballot_token": token2, "sealed": "bm90IGEgYm94"}, "unreadable_ballot"),
    ]
    for payload, _ in bad:
        review.cast(payload)
    rejected = wait_until(lambda: len(review.events("vote_rejected")) == len(bad) and review.events("vote_rejected"))
    assert [r["reason"] for r in rejected] == [reason for _, reason in bad]
    assert [detail.split()[0] for detail in audited_rejections(db_urls)] == [reason for _, reason in bad]

    review.cast(sealed_vote(token2, ballots["m-vp-2"]["public_key"], {"n-1": "reject"}))  # still m-vp-2's to cast
    result = review.call("close_sitting", sitting_id)
    assert (result["participants"], result["items"][0]["approve"], result["items"][0]["reject"]) == (2, 1, 1)
    assert len(result["receipts"]) == 2
    assert review.call("close_sitting", other_id)["participants"] == 0


def test_in_the_production_profile_an_unsealed_ballot_is_refused_and_audited(review, db_urls):
    [config] = [e for e in review.container.extensions if isinstance(e, Configuration)]
    config.settings = dataclasses.replace(config.settings, profile="production")
    sitting_id, ballots = convene(review, "n-p")

    review.vote(ballots["m-vp-1"]["ballot_token"], {"n-p": "approve"}, sealed=False)
    review.vote(ballots["m-vp-2"]["ballot_token"], {"n-p": "approve"})  # sealed: counted
    [rejected] = wait_until(lambda: review.events("vote_rejected"))
    assert (rejected["reason"], rejected["member_id"]) == ("unsealed", "m-vp-1")
    assert audited_rejections(db_urls)[0].startswith("unsealed member=m-vp-1")
    result = review.call("close_sitting", sitting_id)
    assert (result["participants"], result["items"][0]["approve"]) == (1, 1)


def test_a_captured_vote_cast_holds_no_choice_and_no_member(review, rabbit_config):
    tap = Tap(rabbit_config["AMQP_URI"], "council", "vote_cast")  # what a broker reader would keep
    try:
        sitting_id, ballots = convene(review, "n-c")
        for member, ballot in ballots.items():
            review.vote(ballot["ballot_token"], {"n-c": "reject" if member == "m-vp-3" else "approve"})
        bodies = [m.body if isinstance(m.body, str) else m.body.decode() for m in tap.get_all()]
    finally:
        tap.close()
    assert len(bodies) == 7
    for body in bodies:
        assert not any(word in body for word in ("approve", "reject", "abstain", "n-c", "m-vp", "choices"))


def test_another_members_ballot_respelled_in_base64_is_refused_not_counted_twice(review, db_urls):
    from tests.unit.test_sealed_ballots import respelled

    sitting_id, ballots = convene(review, "n-1")
    first = sealed_vote(ballots["m-vp-1"]["ballot_token"], ballots["m-vp-1"]["public_key"], {"n-1": "approve"})
    review.cast(first)
    # a broker reader copies m-vp-1's box and casts it, respelled, with m-vp-2's token: counted twice, the
    # tally would tell m-vp-2 how m-vp-1 voted
    review.cast({"ballot_token": ballots["m-vp-2"]["ballot_token"], "sealed": respelled(first["sealed"])})
    wait_until(lambda: len(review.events("vote_counted")) + len(review.events("vote_rejected")) == 2)
    assert [(r["reason"], r["member_id"]) for r in review.events("vote_rejected")] == [("unreadable_ballot", "m-vp-2")]
    assert audited_rejections(db_urls)[0].startswith("unreadable_ballot member=m-vp-2")
    result = review.call("close_sitting", sitting_id)
    assert (result["participants"], result["items"][0]["approve"], len(result["receipts"])) == (1, 1, 1)


def table(db_urls, name, sitting_id):
    tables = Tables(db_urls["review"], MIGRATIONS)
    try:
        with tables.engine.connect() as connection:
            return [dict(row) for row in connection.execute(sa.text(
                f"SELECT * FROM {name} WHERE sitting_id = :id"), {"id": sitting_id}).mappings()]
    finally:
        tables.dispose()


def test_while_the_sitting_runs_the_database_holds_no_partial_tally_a_second_backup_could_diff(review, db_urls):
    sitting_id, ballots = convene(review, "n-1", "n-2")
    marks = lambda: sorted((r["nomination_id"], r["approve"], r["reject"], r["abstain"])  # noqa: E731
                           for r in table(db_urls, "agenda", sitting_id))
    untouched = marks()
    for member, choices in (("m-vp-1", {"n-1": "approve", "n-2": "reject"}),
                            ("m-vp-2", {"n-1": "reject", "n-2": "abstain"})):
        review.vote(ballots[member]["ballot_token"], choices)
        # two reads of the database (two nightly backups, a replica) around one member's vote: the
        # counters must not move, or their difference is that member's choices
        assert marks() == untouched, f"the counters moved when {member} voted"
    assert sum(row["voted"] for row in table(db_urls, "roster", sitting_id)) == 2

    result = review.call("close_sitting", sitting_id)
    assert sorted((i["nomination_id"], i["approve"], i["reject"], i["abstain"]) for i in result["items"]) == [
        ("n-1", 1, 1, 0), ("n-2", 0, 1, 1)]
    kept = table(db_urls, "receipts", sitting_id)
    assert len(kept) == 2 and all(set(k for k, v in row.items() if v is not None) == {"sitting_id", "code"}
                                  for row in kept)  # the sealed boxes go once counted


def test_a_vote_with_plain_choices_that_is_refused_leaves_no_copy_of_them_in_the_dead_letter_queue(
        review, db_urls, rabbit_config):
    from shared.platform.deadletters import peek

    [config] = [e for e in review.container.extensions if isinstance(e, Configuration)]
    config.settings = dataclasses.replace(config.settings, profile="production")
    sitting_id, ballots = convene(review, "n-d")
    token1, token2 = ballots["m-vp-1"]["ballot_token"], ballots["m-vp-2"]["ballot_token"]
    both = {**sealed_vote(token1, ballots["m-vp-1"]["public_key"], {"n-d": "approve"}), "choices": {"n-d": "reject"}}
    review.cast(both)  # a client that sends the sealed ballot and the choices in clear beside it
    review.cast({"ballot_token": token2, "choices": {"n-d": "reject", "not an id!": "a choice longer than 16"}})
    rejected = wait_until(lambda: len(review.events("vote_rejected")) == 2 and review.events("vote_rejected"),
                          what="both votes refused")
    assert [(r["reason"], r["member_id"]) for r in rejected] == [("ambiguous_ballot", "m-vp-1"), ("unsealed", "m-vp-2")]
    assert [d.split()[0] for d in audited_rejections(db_urls)] == ["ambiguous_ballot", "unsealed"]
    assert peek(rabbit_config["AMQP_URI"], "review") == []  # the member's token beside their choices, kept on disk

    review.cast(sealed_vote(token1, ballots["m-vp-1"]["public_key"], {"n-d": "approve"}))  # still theirs to cast
    result = review.call("close_sitting", sitting_id)
    assert (result["participants"], result["items"][0]["approve"], result["items"][0]["reject"]) == (1, 1, 0)
