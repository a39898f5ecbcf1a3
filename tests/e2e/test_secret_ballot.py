"""The secret ballot end to end (issue #15), three ``nameko run`` processes over RabbitMQ: during and
after a sitting, a dump of every queue of the vhost (service, retry and dead-letter queues, and a tap that
keeps every ``vote_cast`` as a broker reader or a backup would), of the three databases and of every log
line holds nothing that links a member to a choice; and once the sitting has closed, a captured vote
cannot be opened with anything the system keeps."""
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import requests
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy

from services.review import sealing
from shared.contract.ballots import receipt_code, sealed_vote
from shared.platform.config import LOCAL_ADMIN_TOKEN, LOCAL_SECRET_KEY
from shared.platform.messaging import EventPublisher
from tests.harness import RABBIT_API, wait_until
from tests.integration.delivery import Tap
from tests.integration.review_support import directory, submitted

pytestmark = pytest.mark.e2e
CHOICES = ("approve", "reject", "abstain")
ITEMS = ("n-s1", "n-s2")


def choices_of(member_id: str) -> dict:
    """Every member chooses differently somewhere, so a leak of any member's ballot would show."""
    number = int(member_id.rsplit("-", 1)[1])
    return {"n-s1": CHOICES[number % 3], "n-s2": CHOICES[(number // 3) % 3]}


def dump_queues(vhost: str, names: set) -> list[tuple[str, str]]:
    """``(queue, body)`` of every message ready in every queue of ``vhost``, left where it was; the
    queues' names are added to ``names``."""
    dumped = []
    for queue in requests.get(f"{RABBIT_API}/queues/{quote(vhost, safe='')}", timeout=10).json():
        names.add(queue["name"])
        got = requests.post(f"{RABBIT_API}/queues/{quote(vhost, safe='')}/{quote(queue['name'], safe='')}/get",
                            json={"count": 100_000, "ackmode": "ack_requeue_true", "encoding": "auto"}, timeout=30)
        got.raise_for_status()
        dumped += [(queue["name"], message["payload"]) for message in got.json()]
    return dumped


def dump_databases(db_urls) -> list[tuple[str, str]]:
    """``(service.table, row as text)`` of every row of the three databases."""
    rows = []
    for service, url in db_urls.items():
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                for table in sa.inspect(connection).get_table_names():
                    for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')).mappings():
                        rows.append((f"{service}.{table}", " ".join(_text(value) for value in row.values())))
        finally:
            engine.dispose()
    return rows


def _text(value) -> str:
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def links(text: str, members: dict) -> list[str]:
    """The members ``text`` names (id, email, name or ballot token) if it also maps an agenda item to a
    choice."""
    mapped = re.search(r'\b(n-s[12])\\?"?\s*[:=]\s*\\?"?(approve|reject|abstain)\b', text)
    if not mapped:
        return []
    return [member for member, (email, name, token) in members.items()
            if re.search(rf"\b{re.escape(member)}\b", text) or email in text or token in text
            or re.search(rf"{re.escape(name)}\b", text)]


def stored_bytes(db_urls) -> list[bytes]:
    """Every binary value review keeps (where a key could hide)."""
    engine = sa.create_engine(db_urls["review"])
    try:
        with engine.connect() as connection:
            return [bytes(value) for table in sa.inspect(connection).get_table_names()
                    for row in connection.execute(sa.text(f'SELECT * FROM "{table}"'))
                    for value in row if isinstance(value, (bytes, memoryview))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_no_queue_table_or_log_line_links_a_member_to_a_choice_and_no_captured_vote_opens_after_the_close(
        system, rabbit_config, db_urls, mail_sink):
    amqp = rabbit_config["AMQP_URI"]
    vhost = amqp.rsplit("/", 1)[1]
    captured = Tap(amqp, "council", "vote_cast")  # a broker reader keeping every vote
    issued = Tap(amqp, "review", "ballot_issued")
    counted = Tap(amqp, "review", "vote_counted")
    published = Tap(amqp, "review", "receipts_published")
    intake, council = EventPublisher(amqp, "intake"), EventPublisher(amqp, "council")
    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": LOCAL_ADMIN_TOKEN}, timeout=30) as operator:
        roster = directory()["councils"][0]["members"]
        members = {m["id"]: (m["email"], m["name"]) for m in roster}
        operator.review.load_directory(directory())
        for nomination_id in ITEMS:
            intake("nomination_submitted", submitted(nomination_id, "LDTT"), str(uuid.uuid4()), {})
        wait_until(lambda: all(_waiting(operator, n) for n in ITEMS), what="review to record both")
        deadline = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
        sitting_id = operator.review.convene_sitting("hd-vp", deadline)["sitting_id"]
        ballots = {}
        wait_until(lambda: ballots.update({b["member"]["id"]: b for b in map(json.loads, (m.body for m in
                                                                                     issued.get_all()))})
                   or len(ballots) == 7, what="seven ballots")
        members = {m: (*members[m], ballots[m]["ballot_token"]) for m in members}
        plain = json.dumps({"ballot_token": ballots["m-vp-2"]["ballot_token"], "choices": choices_of("m-vp-2")})
        assert links(plain, members) == ["m-vp-2"]  # what the detector catches: a plain vote, as before #15
        votes = {member: sealed_vote(b["ballot_token"], b["public_key"], choices_of(member))
                 for member, b in ballots.items()}
        council("vote_cast", {"ballot_token": "b1.forged", "sealed": "bm9wZQ=="}, str(uuid.uuid4()), {})
        for member in sorted(votes)[:6]:
            council("vote_cast", votes[member], str(uuid.uuid4()), {})
        receipts = {}

        def receipts_counted(n):
            return wait_until(lambda: receipts.update({json.loads(m.body)["member_id"]: json.loads(m.body)["receipt"]
                                                       for m in counted.get_all()}) or len(receipts) == n,
                              what=f"{n} votes counted")

        receipts_counted(6)

        queues = set()
        during = dump_queues(vhost, queues) + dump_databases(db_urls)
        council("vote_cast", votes[sorted(votes)[6]], str(uuid.uuid4()), {})  # the last vote closes it
        receipts_counted(7)
        [receipt_list] = wait_until(lambda: [json.loads(m.body) for m in published.get_all()], what="receipts")
        result = operator.review.sitting_result(sitting_id)
    mail_sink.wait_for(7 * 3, timeout=60)  # invitations, receipts and lists have gone out
    after = dump_queues(vhost, queues) + dump_databases(db_urls)
    log_lines = [line for log in system.log_dir.glob("*.log") for line in log.read_text(errors="replace").splitlines()]
    for tap in (captured, issued, counted, published):
        tap.close()

    expected = {item: {c: sum(choices_of(m)[item] == c for m in members) for c in CHOICES} for item in ITEMS}
    assert {i["nomination_id"]: {c: i[c] for c in CHOICES} for i in result["items"]} == expected
    wire = [body for queue, body in during + after if queue.startswith("tap-council-vote_cast")]
    assert len(wire) >= 7 and all("sealed" in body and not any(c in body for c in CHOICES) for body in wire)
    assert {"dlq.review", "dlq.notify", "dlq.intake"} <= queues and any(q.endswith(".retry") for q in queues)
    for where, text in during + after + [("log", line) for line in log_lines]:
        assert not links(text, members), (where, text[:300])

    # each member's receipt is on the list, which is as long as the ballots counted
    assert sorted(receipts.values()) == receipt_list["codes"] == result["receipts"]
    assert receipts == {member: receipt_code(vote["sealed"]) for member, vote in votes.items()}
    receipts_mail = [m for m in mail_sink.messages() if "Danh sách biên nhận" in m["Subject"]]
    assert len(receipts_mail) == 7 and all(
        all(code in m.get_body(("plain",)).get_content() for code in receipt_list["codes"]) for m in receipts_mail)
    assert len(receipt_list["codes"]) == receipt_list["ballots_counted"] == result["participants"] == 7

    # nothing the system keeps after the close opens a captured vote, not even with the master secret
    kept = stored_bytes(db_urls)
    for vote in votes.values():
        for candidate in [None, *kept]:
            with pytest.raises(sealing.Unreadable):
                sealing.open_ballot(LOCAL_SECRET_KEY, candidate, vote["sealed"])


def _waiting(proxy, nomination_id):
    from shared.contract.errors import NotFound

    try:
        return proxy.review.get_case(nomination_id)["state"] == "waiting"
    except NotFound:
        return False
