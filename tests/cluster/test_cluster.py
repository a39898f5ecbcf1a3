"""On demand (``make cluster-test``): a batch of nominations while one node of a three-node RabbitMQ
cluster with quorum queues is stopped and started again; nothing is lost.

Needs ``deploy/rabbitmq/cluster.sh`` to be able to start nodes here (it does, as root, beside the
machine's own broker); not part of ``make test``.
"""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.faults.client import retrying
from tests.harness import ROOT, MailSink, System, free_port

pytestmark = pytest.mark.cluster
CLUSTER = ROOT / "deploy" / "rabbitmq" / "cluster.sh"
NODES = "amqp://guest:guest@127.0.0.1:5701/;amqp://guest:guest@127.0.0.1:5702/;amqp://guest:guest@127.0.0.1:5703/"


@pytest.fixture(scope="module")
def cluster():
    subprocess.run([str(CLUSTER), "start"], check=True, capture_output=True, timeout=300)
    yield NODES
    subprocess.run([str(CLUSTER), "stop"], capture_output=True, timeout=300)


def test_a_batch_goes_through_while_a_node_of_the_cluster_stops_and_starts(cluster, tmp_path):
    from nameko.standalone.rpc import ClusterRpcProxy

    sink = MailSink(tmp_path / "mail", free_port())
    sink.start()
    env = {**os.environ, "AMQP_URI": cluster, "TDKT_QUEUE_TYPE": "quorum", "EVENTLET_TESTS": "1",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "TDKT_VAR_DIR": str(tmp_path / "var"),
           "TDKT_RETRY_SECONDS": "0.2", "TDKT_MAIL_RETRY_SECONDS": "0.2", "SMTP_TIMEOUT": "2",
           **{f"{s.upper()}_DB_URL": f"sqlite:///{tmp_path / s}.db" for s in ("intake", "review", "notify")}}
    system = System(env, tmp_path / "logs")
    system.start(["intake", "review", "notify"])
    token = subprocess.run([str(Path(sys.executable).parent / "tdkt"), "unit", "token", "vp"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    example = json.loads((ROOT / "deploy/examples/nomination.json").read_text("utf-8"))
    count, events = 60, []

    def node_outage():
        time.sleep(2)
        subprocess.run([str(CLUSTER), "stop-node", "1"], check=True, capture_output=True)
        events.append("node 1 stopped")
        time.sleep(5)
        subprocess.run([str(CLUSTER), "start-node", "1"], check=True, capture_output=True)
        events.append("node 1 started")

    outage = threading.Thread(target=node_outage)
    outage.start()
    started = time.monotonic()
    try:
        for number in range(count):
            nomination = {**example, "submission_key": f"c-{number}",
                          "nominee": {**example["nominee"], "employee_id": f"C-{number}"}}

            def submit():
                with ClusterRpcProxy({"AMQP_URI": cluster}, context_data={"auth_token": token}, timeout=10) as proxy:
                    return proxy.intake.submit_nomination(nomination)

            retrying(submit, f"submit {number}", patience=120)
        outage.join()
        mails = sink.wait_for(count, timeout=180)
        engine = sa.create_engine(env["NOTIFY_DB_URL"])
        with engine.connect() as connection:
            sent = connection.execute(sa.text("SELECT count(*) FROM mails WHERE status = 'sent'")).scalar()
        engine.dispose()
        report = {"nominations": count, "acknowledgements_received": len(mails),
                  "distinct_message_ids": len({m["Message-ID"] for m in mails}), "mails_sent_rows": sent,
                  "events": events, "seconds": round(time.monotonic() - started, 1)}
        queues = subprocess.run(["runuser", "-u", "rabbitmq", "--", "rabbitmqctl", "-n", "tdkt1@localhost", "-q",
                                 "list_queues", "name", "type"], capture_output=True, text=True).stdout
        report["quorum_queues"] = sorted(line.split()[0] for line in queues.splitlines() if line.endswith("quorum"))
        print(report)
        assert "rpc-intake" in report["quorum_queues"]
        assert "evt-intake-nomination_submitted--notify.on_nomination_submitted" in report["quorum_queues"]
        assert report["acknowledgements_received"] == report["distinct_message_ids"] == count == sent
        assert events == ["node 1 stopped", "node 1 started"]
    finally:
        system.stop()
        sink.stop()
