"""A running review container with a small directory, taps on its events, and ways to feed it."""
import json
import uuid
from datetime import datetime, timedelta, timezone

from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter

from shared.contract.ballots import sealed_vote
from shared.platform.config import LOCAL_ADMIN_TOKEN
from shared.platform.messaging import EventPublisher
from tests.integration.delivery import Tap

TOMORROW = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
REVIEW_EVENTS = ("ballot_issued", "nomination_decided", "nomination_advanced", "vote_rejected",
                 "sitting_closed", "nomination_returned", "vote_counted", "receipts_published",
                 "directory_loaded", "nominations_on_agenda")


def directory(unit_members=7, ministry_members=15):
    def council(council_id, level, unit, size):
        return {"id": council_id, "name": f"Hội đồng {unit}", "level": level, "unit": unit, "members": [
            {"id": f"m-{unit}-{n}", "name": f"Thành viên {n}", "email": f"m{n}.{unit}@example.vn",
             "role": "chair" if n == 1 else "member"} for n in range(1, size + 1)]}

    return {"units": [{"id": "bo", "name": "Bộ"}, {"id": "vp", "name": "Văn phòng Bộ", "parent": "bo"}],
            "councils": [council("hd-vp", "unit", "vp", unit_members),
                         council("hd-bo", "ministry", "bo", ministry_members)]}


def submitted(nomination_id, award_code, gender="male", year=2025, rule_set="nd152-2025"):
    return {"nomination_id": nomination_id, "unit_id": "vp", "award_code": award_code, "award_year": year,
            "nominee": {"kind": "individual", "name": f"Người {nomination_id}", "gender": gender,
                        "email": f"{nomination_id}@example.vn", "direct_worker": False},
            "contact_email": "vanphong@example.vn", "submitted_at": "2025-11-20T08:00:00+00:00",
            "rule_set": rule_set}


class Review:
    def __init__(self, container, rabbit_config):
        self.container, self.rabbit_config = container, rabbit_config
        amqp = rabbit_config["AMQP_URI"]
        self.taps = {event: Tap(amqp, "review", event) for event in REVIEW_EVENTS}
        self.intake = EventPublisher(amqp, "intake")
        self.council = EventPublisher(amqp, "council")
        self.seen = {event: [] for event in REVIEW_EVENTS}

    def call(self, method, *args, token=LOCAL_ADMIN_TOKEN):
        with ClusterRpcProxy(self.rabbit_config, context_data={"auth_token": token}, timeout=15) as proxy:
            return getattr(proxy.review, method)(*args)

    def submit(self, event):
        with entrypoint_waiter(self.container, "on_nomination_submitted", timeout=15):
            self.intake("nomination_submitted", event, str(uuid.uuid4()), {})

    def vote(self, token, choices, message_id=None, sealed=True, written_opinion=False):
        """Cast a vote as a member's client does: sealed to the sitting's public key (of the ballot that
        carried ``token``); plain when ``sealed`` is False or no ballot carried the token (a forgery)."""
        self.cast(self.vote_payload(token, choices, sealed, written_opinion), message_id)

    def vote_payload(self, token, choices, sealed=True, written_opinion=False):
        ballot = next((b for b in self.events("ballot_issued") if b["ballot_token"] == token), None)
        if sealed and ballot is not None:
            return sealed_vote(token, ballot["public_key"], choices, written_opinion)
        return {"ballot_token": token, "choices": choices, **({"written_opinion": True} if written_opinion else {})}

    def cast(self, payload, message_id=None):
        with entrypoint_waiter(self.container, "on_vote_cast", timeout=15):
            self.council("vote_cast", payload, message_id or str(uuid.uuid4()), {})

    def events(self, event_type):
        self.seen[event_type] += [json.loads(m.body) for m in self.taps[event_type].get_all()]
        return self.seen[event_type]

    def ballots(self, sitting_id):
        return {b["member"]["id"]: b for b in self.events("ballot_issued") if b["sitting_id"] == sitting_id}

    def close(self):
        for tap in self.taps.values():
            tap.close()
