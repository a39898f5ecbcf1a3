"""Counts what a fault run lost, doubled or made up, from the services' databases and the mail sink."""
from __future__ import annotations

import time
from collections import Counter

import sqlalchemy as sa

from services.notify.domain import message_id

FINAL = ("approved", "proposed", "rejected")


def _rows(engine, query):
    with engine.connect() as connection:
        return connection.execute(sa.text(query)).all()


def expected_mails(nominations: int, ballots: int, sittings: int) -> int:
    """An acknowledgement per nomination; per ballot an invitation, a receipt and the list of receipts at
    the close (every member votes); each outcome to its nominee; one mail per sitting to its unit's
    contact (one unit, one contact, per sitting here; its units have no address for the minutes)."""
    return nominations + 3 * ballots + nominations + sittings


def _settled(engines, client, nominations):
    finals = _rows(engines["intake"], "SELECT count(*) FROM nominations WHERE status IN ('approved', 'rejected')")
    pending = _rows(engines["notify"], "SELECT count(*) FROM mails WHERE status = 'pending'")
    mails = _rows(engines["notify"], "SELECT count(*) FROM mails")
    expected = expected_mails(nominations, sum(len(v) for v in client.acked_votes.values()), len(client.acked_votes))
    return finals[0][0] == nominations and pending[0][0] == 0 and mails[0][0] >= expected


def check(urls, sink, client, nominations, deadline) -> dict:
    engines = {name: sa.create_engine(url, pool_pre_ping=True) for name, url in urls.items()}
    try:
        while time.monotonic() < deadline:
            try:
                if _settled(engines, client, nominations):
                    break
            except sa.exc.OperationalError:  # PostgreSQL is restarting
                pass
            time.sleep(0.5)
        return _count(engines, sink, client, nominations)
    finally:
        for engine in engines.values():
            engine.dispose()


def _count(engines, sink, client, nominations) -> dict:
    report = {"nominations": nominations}
    statuses = dict(_rows(engines["intake"], "SELECT id, status FROM nominations"))
    histories = dict(_rows(engines["intake"], "SELECT id, history FROM nominations"))
    report["final_outcomes"] = sum(status in FINAL for status in statuses.values())
    report["lost_nominations"] = nominations - report["final_outcomes"]
    report["duplicated_outcomes"] = sum(
        1 for history in histories.values() if sum(entry["status"] in FINAL for entry in _json(history)) > 1)
    report["unexpected_nominations"] = len(set(statuses) - set(client.nominations))
    outcomes = Counter(n for (n,) in _rows(engines["review"],
                                           "SELECT nomination_id FROM agenda WHERE outcome IS NOT NULL"))
    report["review_decisions_twice"] = sum(count > 1 for count in outcomes.values())

    acked = sum(len(members) for members in client.acked_votes.values())
    voted = dict(_rows(engines["review"], "SELECT sitting_id, count(*) FROM roster WHERE voted GROUP BY sitting_id"))
    report["votes_acked"], report["votes_counted"] = acked, sum(voted.values())
    report["votes_lost"] = sum(len(m) - voted.get(s, 0) for s, m in client.acked_votes.items())
    marks = _rows(engines["review"], "SELECT sitting_id, nomination_id, approve, reject, abstain FROM agenda")
    report["items_miscounted"] = sum(1 for s, n, a, r, x in marks if a + r + x != voted.get(s, 0)
                                     or a != client.expected_approvals_of(n))

    logical = _rows(engines["notify"], "SELECT key, status FROM mails")
    ids = {message_id(key, "localhost.localdomain"): status for key, status in logical}
    received = Counter(mail["Message-ID"] for mail in sink.messages())
    report["mails_logical"] = len(logical)
    report["mails_expected"] = expected_mails(nominations, acked, len(client.acked_votes))
    report["mails_sent"] = sum(status == "sent" for status in ids.values())
    report["mails_received"] = sum(received.values())
    report["mails_lost"] = sum(1 for mid, status in ids.items() if received[mid] == 0)
    report["mails_duplicated"] = sum(count - 1 for count in received.values() if count > 1)
    report["mails_unexpected"] = sum(count for mid, count in received.items() if mid not in ids)
    report["ok"] = (report["lost_nominations"] == report["duplicated_outcomes"] == report["unexpected_nominations"]
                    == report["review_decisions_twice"] == report["votes_lost"] == report["items_miscounted"]
                    == report["mails_lost"] == report["mails_duplicated"] == report["mails_unexpected"] == 0
                    and report["mails_logical"] == report["mails_expected"] and report["votes_counted"] == acked)
    return report


def _json(value):
    import json

    return json.loads(value) if isinstance(value, str) else value


def describe(report: dict) -> str:
    lines = [f"{key:>24}: {value}" for key, value in report.items() if key != "faults"]
    lines += [f"{'fault':>24}: {fault}" for fault in report.get("faults", [])]
    return "\n".join(lines)
