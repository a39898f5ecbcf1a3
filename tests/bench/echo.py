"""The framework's ceiling: a bare Nameko RPC service that answers a receipt-sized reply at once.

It runs as a ``nameko run`` process like the services, on the same broker, so the only difference
the benchmark measures is the work ``intake.submit_nomination`` does.
"""
import uuid

from nameko.rpc import rpc


class EchoService:
    name = "bench_echo"

    @rpc
    def submit_nomination(self, nomination):
        return {"nomination_id": uuid.uuid4().hex, "status": "submitted", "duplicate": False,
                "submission_key": nomination.get("submission_key")}
