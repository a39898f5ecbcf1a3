"""deploy/Dockerfile's image, built here, runs intake, review and notify as containers with compose.yml's
hardening (read-only root, the image's non-root user, no capabilities, /tmp on tmpfs) against the host's
RabbitMQ (a vhost of its own, deploy/rabbitmq's users) and PostgreSQL (databases of its own, reached
through the bare ``postgresql://`` URL a managed PostgreSQL hands out): each becomes ready, a nomination
goes through a unit council's sitting to its mails, and SIGTERM stops each within its grace period.

``make container-test`` (not in ``make test``): it installs podman first (deploy/containers/setup.sh)."""
import json
import re
import secrets
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from shared.contract.ballots import sealed_vote
from shared.platform.client import event_publisher, rpc_proxy
from shared.contract.errors import NotFound
from tests.conftest import PG_ADMIN_URL
from tests.containers.podman import COMPOSE, IMAGE, Container, build, grace_seconds, image_size
from tests.harness import RABBIT_API, ROOT, SERVICE_CLASSES, MailSink, free_port, wait_until
from tests.integration.review_support import directory
from tests.rabbit_users import loader, local_password

pytestmark = [pytest.mark.containers, pytest.mark.timeout(1800)]
SERVICES = ("intake", "review", "notify")
NOMINATION = json.loads((ROOT / "deploy/examples/nomination.json").read_text("utf-8"))
TAG = f"tdkt_ct_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def image():
    began = time.monotonic()
    build("tdkt")
    print(f"\nimage {IMAGE}: built (or found) in {time.monotonic() - began:.0f} s, "
          f"{image_size() / 1e6:.0f} MB")
    return IMAGE


@pytest.fixture(scope="module")
def vhost():
    """A vhost of the host's RabbitMQ with deploy/rabbitmq/definitions.json loaded into it."""
    requests.put(f"{RABBIT_API}/vhosts/{TAG}", timeout=10).raise_for_status()
    load = loader()
    try:
        load.load(load.for_vhost(load.read_definitions(), TAG), RABBIT_API.removesuffix("/api"))
        yield TAG
    finally:
        requests.delete(f"{RABBIT_API}/vhosts/{TAG}", timeout=30)


def broker_uri(user: str, vhost: str) -> str:
    return f"amqp://{user}:{local_password(user)}@127.0.0.1:5672/{vhost}"


@pytest.fixture(scope="module")
def databases():
    """One database per service on the host's PostgreSQL, as plain ``postgresql://`` URLs."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names = {service: f"{TAG}_{service}" for service in SERVICES}
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL)
    try:
        yield {service: f"postgresql://{url.username}@{url.host}:{url.port or 5432}/{name}"
               for service, name in names.items()}
    finally:
        with admin.connect() as connection:
            for name in names.values():
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    sink = MailSink(tmp_path_factory.mktemp("mail") / "mail", free_port())
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def secrets_():
    return {"TDKT_ADMIN_TOKEN": secrets.token_hex(24), "TDKT_SECRET_KEY": secrets.token_hex(24)}


@pytest.fixture(scope="module")
def containers(image, vhost, databases, mail, secrets_):
    """The three services as containers, each with its compose environment pointed at the host."""
    started = {}
    try:
        for service in SERVICES:
            env = {**{key: str(value) for key, value in COMPOSE["services"][service]["environment"].items()},
                   **secrets_, "AMQP_URI": broker_uri(f"tdkt-{service}", vhost),
                   f"{service.upper()}_DB_URL": databases[service], "TDKT_HTTP_PORT": str(free_port())}
            if service == "notify":
                env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(mail.port))
            container = Container(f"{TAG}-{service}", service, COMPOSE["services"][service]["command"], env)
            container.start()
            started[service] = container
        yield started
    finally:
        for container in started.values():
            if container.running():
                print(f"\n--- {container.name} ---\n{container.logs()}")
            container.remove()


def readyz(container) -> bool:
    if not container.running():
        raise AssertionError(f"{container.name} stopped:\n{container.logs()}")
    try:
        return requests.get(f"http://127.0.0.1:{container.env['TDKT_HTTP_PORT']}/readyz", timeout=5).ok
    except requests.ConnectionError:
        return False


def test_the_services_run_as_hardened_containers_decide_a_nomination_and_stop_on_sigterm(
        containers, vhost, mail, secrets_):
    # ready: /readyz answers 200 (queues consumed, database answering), timed from `podman run`
    for service, container in containers.items():
        wait_until(lambda: readyz(container), timeout=180, interval=0.5, what=f"{service}'s /readyz")
        print(f"{service}: ready {time.monotonic() - container.started:.1f} s after podman run")

    # as compose asks: the image's non-root user, no capabilities, a read-only root
    for service, container in containers.items():
        config = container.inspect()
        assert config["Config"]["User"] == "10001:10001" and container.exec("id", "-u").strip() == "10001"
        assert container.exec("sh", "-c", "grep ^CapEff /proc/self/status").split()[1] == "0" * 16
        assert config["HostConfig"]["ReadonlyRootfs"] is True
        denied = container.exec("sh", "-c", "touch /srv/tdkt/x 2>&1 || true")
        assert "Read-only file system" in denied, denied
        password = urlsplit(container.env["AMQP_URI"]).password.encode()
        argv = container.processes()
        assert any(b"nameko" in b" ".join(args) for args in argv), argv
        assert not [args for args in argv if any(password in arg for arg in args)], argv

    # a unit's token, issued by intake to the operator over RPC, then a nomination through its council
    operator = rpc_proxy(broker_uri("tdkt-operator", vhost), {"auth_token": secrets_["TDKT_ADMIN_TOKEN"]}, 30)
    with rpc_proxy(broker_uri("tdkt-operator", vhost), {"auth_token": secrets_["TDKT_ADMIN_TOKEN"]}, 30) as op:
        token = op.intake.issue_unit_token("vp")
    unit = rpc_proxy(broker_uri("tdkt-unit", vhost), {"auth_token": token}, 30)
    council = event_publisher(broker_uri("tdkt-council", vhost), "council")
    with operator as op, unit as clerk:
        op.review.load_directory(directory())
        nomination_id = clerk.intake.submit_nomination(NOMINATION)["nomination_id"]
        wait_until(lambda: waiting(op, nomination_id), timeout=60, what="review to record the nomination")
        deadline = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
        sitting = op.review.convene_sitting("hd-vp", deadline)
        assert sitting["agenda"] == [nomination_id] and sitting["members"] == 7

        invitations = wait_until(lambda: [m for m in mail.messages() if "Phiếu bầu" in m["Subject"]]
                                 if len(mail.messages()) >= 8 else None, timeout=90, what="7 invitations")
        ballots = [re.search(r"tdkt vote --token (\S+) --key (\S+)", m.get_body(("plain",)).get_content())
                   for m in invitations]
        assert len({b[1] for b in ballots}) == 7
        for found in ballots:  # sealed to the sitting's key, as the production profile requires
            council("vote_cast", sealed_vote(found[1], found[2], {nomination_id: "approve"}), str(uuid.uuid4()), {})
        wait_until(lambda: clerk.intake.get_nomination(nomination_id)["status"] == "approved", timeout=90,
                   what="the nomination approved")
    # an acknowledgement; 7 invitations, 7 receipts and 7 lists of receipts; the decision to the nominee
    # and the sitting's outcomes to the unit (its minutes follow once rendered)
    mails = mail.wait_for(24, timeout=90)
    assert sum("Biên nhận phiếu bầu" in m["Subject"] for m in mails) == 7
    assert {"vanphong@example.vn", "hoa.nt@example.vn"} <= {m["To"].addresses[0].addr_spec for m in mails}

    # SIGTERM (podman stop), each within compose's stop_grace_period, and a clean exit
    for service, container in containers.items():
        grace = grace_seconds(service)
        code, took = container.stop(grace)
        print(f"{service}: stopped on SIGTERM in {took:.1f} s (grace {grace:.0f} s), exit code {code}")
        assert code == 0 and took < grace, (code, took, container.logs())
        assert "Traceback" not in container.logs(), container.logs()


def waiting(proxy, nomination_id) -> bool:
    try:
        return proxy.review.get_case(nomination_id)["state"] == "waiting"
    except NotFound:
        return False
