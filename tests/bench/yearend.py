"""The year-end run: every unit submits its year's nominations, each unit council sits as soon as its
unit's list is recorded, every member votes from the ballot review issued, the ministry council takes
what advanced, and the clock stops when the last outcome mail has reached the SMTP sink.
"""
from __future__ import annotations

import json
import os
import time

import eventlet
import requests
import sqlalchemy as sa
from eventlet.queue import LightQueue
from kombu import Connection, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from services.intake import handlers as intake_handlers
from services.intake.service import MIGRATIONS as INTAKE_MIGRATIONS
from shared.contract.ballots import sealed_vote
from shared.platform.config import LOCAL_ADMIN_TOKEN, load_settings
from shared.platform.messaging import EventPublisher, event_exchange
from shared.platform.outbox import utcnow
from shared.platform.store import standalone_uow
from tests.bench import workload
from tests.harness import RABBIT_API

VOTERS = 4  # council members voting at the same moment
POLL = 0.05  # how often a voter looks for a ballot, and the convener for a unit's recorded list
CHECK = 0.25  # how often the whole-run conditions are read (cheaply, but on tables that grow)


class Deadline(Exception):
    pass


class YearEnd:
    def __init__(self, sandbox, system, sink, units: int, per_unit: int, callers: int = 16,
                 timeout: float = 1800.0):
        self.sandbox, self.system, self.sink = sandbox, system, sink
        self.units, self.per_unit, self.callers = workload.unit_ids(units), per_unit, callers
        self.amqp = sandbox.env["AMQP_URI"]
        self.deadline = time.monotonic() + timeout
        self.engines = {name: sa.create_engine(url, pool_size=2) for name, url in sandbox.urls.items()}
        self.marks = {}
        self.sittings, self.advanced, self.votes = [], 0, 0
        self.submitted = LightQueue()
        self.voting, self.threads = True, []

    # -- set-up (before the clock) --
    def prepare(self):
        with ClusterRpcProxy({"AMQP_URI": self.amqp}, context_data={"auth_token": LOCAL_ADMIN_TOKEN},
                             timeout=120) as proxy:
            proxy.review.load_directory(workload.directory(len(self.units)))
        uow = standalone_uow("intake", INTAKE_MIGRATIONS, load_settings(self.sandbox.env))
        try:
            self.tokens = {unit: intake_handlers.issue_unit_token(unit, uow, utcnow()) for unit in self.units}
        finally:
            uow.close()
        self.tap = Queue("bench-ballots", exchange=event_exchange("review"), routing_key="ballot_issued",
                         durable=True, auto_delete=False)
        with Connection(self.amqp) as connection:
            self.tap(connection.default_channel).declare()
        self.bodies = {unit: workload.nominations(unit, self.per_unit) for unit in self.units}

    # -- the run --
    def run(self) -> dict:
        self.started = time.monotonic()
        self.threads = threads = [eventlet.spawn(self._submit_all), eventlet.spawn(self._convene_all),
                                  *(eventlet.spawn(self._vote) for _ in range(VOTERS))]
        try:
            self._wait(lambda: self._scalar("intake", "SELECT count(*) FROM nominations WHERE status IN "
                                            "('approved', 'rejected')") == self.total, "decided_all", every=CHECK)
            threads[1].wait()  # the convener knows how many mails to expect
            # notify records a mail as sent once the sink has written it and answered 250
            self._wait(lambda: self._scalar("notify", "SELECT count(*) FROM mails WHERE status = 'sent'")
                       >= self.expected_mails, "sent_all", mark=False, every=CHECK)
            self._wait(lambda: self._mails_received() >= self.expected_mails, "mailed_all", every=CHECK)
            seconds = time.monotonic() - self.started
        finally:
            self.voting = False
            for thread in threads:
                thread.kill()
        return {"nominations": self.total, "seconds": round(seconds, 2), "phases": self.marks,
                "unit_sittings": len(self.sittings), "advanced": self.advanced, "votes": self.votes,
                "mails_expected": self.expected_mails}

    def documents_made(self, timeout: float = 900.0) -> tuple[int, int]:
        """Wait, after the clock, until every closed sitting's documents are made (they wait for a
        quiet machine, so mostly until the votes, outcomes and mails are done), marked as the phase
        ``documents_made``; a render that failed (no LibreOffice, say) or ``timeout`` seconds end the
        wait without the mark. Returns (sittings whose documents are made, sittings)."""
        self.threads = []  # the run's threads were stopped with its clock: none is waited on here
        expected = len(self.sittings) + bool(self.advanced)

        def made():
            return self._scalar("review", "SELECT count(*) FROM document_jobs WHERE status = 'done'")

        def settled():
            return made() >= expected or self._scalar(
                "review", "SELECT count(*) FROM document_jobs WHERE attempts > 0 OR status = 'failed'") > 0

        deadline, self.deadline = self.deadline, time.monotonic() + timeout
        try:
            self._wait(settled, "documents", mark=False, every=CHECK)
        except Deadline:
            pass  # reported as fewer made than closed
        finally:
            self.deadline = deadline
        done = made()
        if done >= expected:
            self._mark("documents_made")
        return done, expected

    @property
    def total(self) -> int:
        return len(self.units) * self.per_unit

    @property
    def expected_mails(self) -> int:
        """An acknowledgement per nomination; per member of each sitting an invitation, the receipt of the
        ballot (every member votes) and the list of receipts at the close; each outcome (advanced,
        decided) to the nominee, and one mail per sitting to each unit it decided on: every unit after its
        own council's sitting, and (each unit having a tenth CSTD_BO) after the ministry's."""
        invitations = workload.UNIT_MEMBERS * len(self.sittings) + workload.MINISTRY_MEMBERS * bool(self.advanced)
        unit_mails = len(self.sittings) + (len(self.units) if self.advanced else 0)
        return self.total + 3 * invitations + (self.total + self.advanced) + unit_mails

    def _submit_all(self):
        pool, pending = eventlet.GreenPool(self.callers), iter(self.units)

        def clerk():
            for unit in pending:  # each clerk takes the next unit and submits its whole list
                with ClusterRpcProxy({"AMQP_URI": self.amqp}, context_data={"auth_token": self.tokens[unit]},
                                     timeout=300) as proxy:
                    for body in self.bodies[unit]:
                        proxy.intake.submit_nomination(body)
                self.submitted.put(unit)

        for clerk_thread in [pool.spawn(clerk) for _ in range(self.callers)]:
            clerk_thread.wait()  # a clerk's error (a refused nomination, a timeout) ends the run
        self._mark("submitted_all")

    def _convene_all(self):
        with ClusterRpcProxy({"AMQP_URI": self.amqp}, context_data={"auth_token": LOCAL_ADMIN_TOKEN},
                             timeout=300) as operator:
            for _ in self.units:
                unit = self.submitted.get()
                self._wait(lambda: self._scalar("review", "SELECT count(*) FROM cases WHERE unit_id = :u", u=unit)
                           >= self.per_unit, f"recorded {unit}", mark=False)
                self.sittings.append(operator.review.convene_sitting(f"hd-{unit}", {"working_days": 5}))
            self._mark("unit_sittings_convened")
            self._wait(lambda: self._scalar("review", "SELECT count(*) FROM sittings WHERE stage = 'unit' AND "
                                            "status = 'closed'") == len(self.units), "unit_sittings_closed",
                       every=CHECK)
            waiting = self._scalar("review", "SELECT count(*) FROM cases WHERE stage = 'ministry' AND "
                                   "state = 'waiting'")
            if waiting:
                self.advanced = len(operator.review.convene_sitting(workload.MINISTRY_COUNCIL,
                                                                    {"working_days": 5})["agenda"])
                self._wait(lambda: self._scalar("review", "SELECT count(*) FROM sittings WHERE stage = 'ministry' "
                                                "AND status = 'closed'") == 1, "ministry_sitting_closed", every=CHECK)

    def _vote(self):
        """A member's mail client: read the ballot, mark every item, send the vote (confirmed)."""
        publish = EventPublisher(self.amqp, "council")
        with Connection(self.amqp) as connection:
            queue = self.tap(connection.default_channel)
            while self.voting:
                message = queue.get()
                if message is None:
                    eventlet.sleep(POLL)
                    continue
                ballot = json.loads(message.body)
                member = ballot["member"]["id"]
                choices = {item["nomination_id"]: workload.choice(item, member) for item in ballot["agenda"]}
                publish("vote_cast", sealed_vote(ballot["ballot_token"], ballot["public_key"], choices),
                        f"vote-{ballot['sitting_id']}-{member}", {})
                message.ack()
                self.votes += 1

    # -- helpers --
    def _wait(self, condition, what, mark=True, every=POLL):
        while not condition():
            for thread in self.threads:
                if thread.dead and thread is not eventlet.getcurrent():
                    thread.wait()  # re-raises what ended it, rather than waiting for the deadline
            if time.monotonic() > self.deadline:
                raise Deadline(f"timed out waiting for {what} ({self.marks})")
            eventlet.sleep(every)
        if mark:
            self._mark(what)

    def _mark(self, what):
        self.marks[what] = round(time.monotonic() - self.started, 2)

    def _scalar(self, service, query, **params):
        with self.engines[service].connect() as connection:
            return connection.execute(sa.text(query), params).scalar()

    def _mails_received(self) -> int:
        with os.scandir(self.sink.directory) as entries:
            return sum(1 for entry in entries if entry.name.endswith(".eml"))

    # -- after the clock --
    def verify(self) -> dict:
        """Each expected mail received once (distinct Message-IDs), none left pending or failed, every
        ballot closed in notify (so no reminders), and nothing dead-lettered."""
        ids = set()
        files = list(self.sink.directory.glob("*.eml"))
        for path in files:
            with open(path, "rb") as handle:
                head = handle.read(4096).split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
            ids.update(line.split(b":", 1)[1].strip() for line in head.splitlines()
                       if line.lower().startswith(b"message-id:"))
        # the close of the last sitting may reach notify just after its outcome mail went out
        deadline, self.deadline = self.deadline, min(self.deadline, time.monotonic() + 30)
        try:
            self._wait(lambda: self._scalar("notify", "SELECT count(*) FROM ballots WHERE NOT closed") == 0,
                       "ballots_closed", mark=False, every=CHECK)
        except Deadline:
            pass  # reported below as ballots left open
        finally:
            self.deadline = deadline
        with self.engines["notify"].connect() as connection:
            statuses = dict(connection.execute(sa.text("SELECT status, count(*) FROM mails GROUP BY status")).all())
            open_ballots = connection.execute(sa.text("SELECT count(*) FROM ballots WHERE NOT closed")).scalar()
        queues = requests.get(f"{RABBIT_API}/queues/{self.sandbox.vhost}", timeout=10).json()
        dead = sum(q.get("messages", 0) for q in queues if q["name"].startswith("dlq."))
        return {"mails_received": len(files), "distinct_message_ids": len(ids), "mail_rows": statuses,
                "ballots_left_open": open_ballots, "dead_letters": dead}

    def broker_messages(self) -> dict:
        """Messages published and delivered on the run's vhost (the management plugin samples every
        few seconds, so this waits for two equal readings)."""
        last = None
        while True:
            stats = requests.get(f"{RABBIT_API}/vhosts/{self.sandbox.vhost}", timeout=10).json()
            stats = stats.get("message_stats", {})
            now = {"published": stats.get("publish", 0), "delivered": stats.get("deliver_get", 0)}
            if now == last or time.monotonic() > self.deadline:
                return now
            last = now
            time.sleep(5.5)

    def close(self):
        for engine in self.engines.values():
            engine.dispose()
