"""The fault run's users: a unit clerk per unit, the secretariat and the council members, each retrying
through outages the way a person (or a well-behaved client) would, with idempotent requests."""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from kombu import Connection, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from shared.contract.ballots import sealed_vote
from shared.platform.config import LOCAL_ADMIN_TOKEN
from shared.contract.errors import Conflict, TdktError
from shared.platform.messaging import EventPublisher, event_exchange

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "deploy/examples/nomination.json").read_text("utf-8"))
MEMBERS = 7


def retrying(action, what, patience=300.0):
    """``action()`` until it answers: a broker or a service that is restarting is waited out."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return action()
        except TdktError:
            raise
        except Exception as exc:  # connection refused, RpcTimeout, UnknownService, a restart...
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: still failing after {patience}s: {exc!r}") from exc
            time.sleep(0.3)


class Client:
    def __init__(self, env, units, seed):
        self.env, self.units = env, [f"u{n}" for n in range(1, units + 1)]
        self.amqp = env["AMQP_URI"]
        self.random = random.Random(seed)
        self.tokens, self.expected_approvals, self.acked_votes = {}, {}, {}
        self.nominations = {}  # nomination id -> unit

    def rpc(self, service, method, *args, token=LOCAL_ADMIN_TOKEN):
        def call():
            with ClusterRpcProxy({"AMQP_URI": self.amqp}, context_data={"auth_token": token}, timeout=15) as proxy:
                return getattr(getattr(proxy, service), method)(*args)
        return retrying(call, f"{service}.{method}")

    def load_directory(self):
        self.rpc("review", "load_directory", {
            "units": [{"id": "bo", "name": "Bộ"}, *({"id": u, "name": f"Đơn vị {u}", "parent": "bo"} for u in self.units)],
            "councils": [{"id": f"hd-{u}", "name": f"Hội đồng {u}", "level": "unit", "unit": u, "members": [
                {"id": f"m-{u}-{n}", "name": f"Thành viên {n}", "email": f"m{n}.{u}@example.vn",
                 "role": "chair" if n == 1 else "member"} for n in range(1, MEMBERS + 1)]} for u in self.units]})
        tdkt = str(Path(sys.executable).parent / "tdkt")
        for unit in self.units:
            self.tokens[unit] = retrying(lambda: subprocess.run(
                [tdkt, "unit", "token", unit], env=self.env, capture_output=True, text=True, check=True
            ).stdout.strip(), f"token for {unit}")

    def submit(self, count):
        for number in range(count):
            unit = self.units[number % len(self.units)]
            nomination = {**EXAMPLE, "submission_key": f"k-{number}", "contact_email": f"{unit}@example.vn",
                          "nominee": {**EXAMPLE["nominee"], "full_name": f"Cán bộ {number}",
                                      "employee_id": f"E-{number}", "email": f"cb{number}@example.vn"}}
            receipt = self.rpc("intake", "submit_nomination", nomination, token=self.tokens[unit])
            self.nominations[receipt["nomination_id"]] = unit

    def wait_for_cases(self, review_url, count, timeout):
        engine = sa.create_engine(review_url, pool_pre_ping=True)
        deadline = time.monotonic() + timeout
        while retrying(lambda: _scalar(engine, "SELECT count(*) FROM cases WHERE state = 'waiting'"),
                       "count cases") < count:
            if time.monotonic() > deadline:
                raise RuntimeError("review never recorded every nomination")
            time.sleep(0.2)
        engine.dispose()

    def hold_sittings(self, review_url):
        """Convene every unit council, then vote with each ballot as it arrives (each vote once acked)."""
        with Connection(self.amqp) as connection:
            tap = Queue("faults-ballots", exchange=event_exchange("review"), routing_key="ballot_issued",
                        durable=True, auto_delete=False)
            retrying(lambda: tap(connection.default_channel).declare(), "declare the ballot tap")
        engine = sa.create_engine(review_url, pool_pre_ping=True)
        for unit in self.units:
            try:
                self.rpc("review", "convene_sitting", f"hd-{unit}", {"working_days": 5})
            except Conflict:  # convened already, its answer lost in a crash
                pass
        sittings = retrying(lambda: _scalar(engine, "SELECT count(*) FROM sittings"), "count sittings")
        engine.dispose()
        publish = EventPublisher(self.amqp, "council")
        while sum(len(v) for v in self.acked_votes.values()) < sittings * MEMBERS:
            for ballot in retrying(lambda: self._take_ballots(tap), "read ballots"):
                member, sitting = ballot["member"]["id"], ballot["sitting_id"]
                choices = {item["nomination_id"]: self._choice(item["nomination_id"], member)
                           for item in ballot["agenda"]}
                vote = sealed_vote(ballot["ballot_token"], ballot["public_key"], choices)
                retrying(lambda: publish("vote_cast", vote, f"vote-{sitting}-{member}", {}), "cast a vote")
                self.acked_votes.setdefault(sitting, set()).add(member)

    def _take_ballots(self, tap):
        with Connection(self.amqp) as connection:
            queue = tap(connection.default_channel)
            ballots = []
            while (message := queue.get(no_ack=True)) is not None:
                ballots.append(json.loads(message.body))
            if not ballots:
                time.sleep(0.2)
            return ballots

    def _choice(self, nomination_id, member):
        """Most are approved; about one in five gets only three approvals of seven and is rejected."""
        rejected = int(nomination_id[:8], 16) % 5 == 0
        approve = not (rejected and int(member.rsplit("-", 1)[1]) <= 4)
        return "approve" if approve else "reject"

    def expected_approvals_of(self, nomination_id):
        return sum(self._choice(nomination_id, f"m-x-{n}") == "approve" for n in range(1, MEMBERS + 1))


def _scalar(engine, query):
    with engine.connect() as connection:
        return connection.execute(sa.text(query)).scalar()
