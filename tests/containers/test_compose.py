"""deploy/compose.yml itself, brought up with podman-compose in a network namespace of the test's own
(nothing reaches past it), with deploy/containers/compose.standins.yml replacing only the images that
cannot be pulled here (RabbitMQ, PostgreSQL, Mailpit) by stand-ins made from Debian's packages. The
definitions import, the database init script, the environment from a .env written as the README says,
the volumes, the hardening and the health checks (run with `podman healthcheck run`: podman 4.3 has no
systemd timers here, and podman-compose before podman 4.6 does not wait for service_healthy) are
exercised as written; then the README's commands: a unit token, a submitted nomination, its mail."""
import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.containers.podman import build, podman
from tests.deploy_files import DEPLOY, read_env_file
from tests.harness import ROOT, wait_until

pytestmark = [pytest.mark.containers, pytest.mark.timeout(1800)]
INFRASTRUCTURE = ("rabbitmq", "postgres", "mailpit")
SERVICES = ("intake", "review", "notify")


@pytest.fixture(scope="module")
def images():
    build("all")


@pytest.fixture(scope="module")
def namespace():
    """A network namespace with only its loopback: the compose network and published ports live there."""
    name = f"tdkt-ct-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


@pytest.fixture(scope="module")
def project(images, namespace, tmp_path_factory):
    """deploy/'s compose files copied beside a fresh .env, and podman-compose in the namespace."""
    work = tmp_path_factory.mktemp("compose") / "deploy"
    work.mkdir()
    for name in ("compose.yml", ".env.example", "rabbitmq", "postgres", "containers/compose.standins.yml"):
        source, target = DEPLOY / name, work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    shutil.copy(work / ".env.example", work / ".env")  # the README: cp, then its one-line writer
    writer = re.search(r"python3 -c '([^']+)'", (ROOT / "README.md").read_text(encoding="utf-8"))[1]
    subprocess.run(["python3", "-c", writer], cwd=work.parent, check=True, timeout=60)
    name = f"tdktct{uuid.uuid4().hex[:6]}"

    def compose(*args, timeout=600):
        result = subprocess.run(["nsenter", f"--net=/run/netns/{namespace}", "podman-compose", "-p", name,
                                 "-f", "compose.yml", "-f", "containers/compose.standins.yml", *args],
                                cwd=work, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result

    compose.name, compose.work, compose.namespace = name, work, namespace
    compose.env = read_env_file(work / ".env")
    try:
        yield compose
    finally:
        subprocess.run(["nsenter", f"--net=/run/netns/{namespace}", "podman-compose", "-p", name, "-f", "compose.yml",
                        "-f", "containers/compose.standins.yml", "down"], cwd=work, capture_output=True, timeout=300)
        for volume in podman("volume", "ls", "--quiet", "--filter", f"label=io.podman.compose.project={name}",
                             check=False).stdout.split():
            podman("volume", "rm", "--force", volume, check=False)
        podman("network", "rm", "--force", f"{name}_default", check=False)


def container(project, service) -> str:
    return f"{project.name}_{service}_1"


def healthy(project, service) -> bool:
    """compose.yml's health test of ``service``, run by podman now."""
    state = podman("inspect", "--format", "{{.State.Status}}", container(project, service), check=False).stdout.strip()
    if state not in ("running", "created", "configured"):
        raise AssertionError(f"{service} is {state}:\n" + podman("logs", container(project, service), check=False).stderr[-3000:])
    return podman("healthcheck", "run", container(project, service), check=False, timeout=60).returncode == 0


def ready(project, service) -> bool:
    probe = "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/readyz', timeout=15)"
    return podman("exec", container(project, service), "python", "-c", probe, check=False, timeout=60).returncode == 0


def test_the_compose_file_comes_up_healthy_with_stand_ins_and_mails_a_submitted_nomination(project):
    began = time.monotonic()
    project("up", "-d", *INFRASTRUCTURE)
    for service in INFRASTRUCTURE:  # what depends_on: service_healthy would wait for
        wait_until(lambda: healthy(project, service), timeout=180, interval=2, what=f"{service} healthy")
    print(f"\ncompose: rabbitmq, postgres and mailpit healthy {time.monotonic() - began:.0f} s after up")
    databases = podman("exec", container(project, "postgres"), "psql", "-U", "postgres", "-Atc",
                       "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname IN "
                       "('intake', 'review', 'notify') ORDER BY 1").stdout.split()
    assert databases == ["intake|tdkt_intake", "notify|tdkt_notify", "review|tdkt_review"]

    began = time.monotonic()
    project("up", "-d")
    for service in SERVICES:
        wait_until(lambda: healthy(project, service) and ready(project, service), timeout=240, interval=2,
                   what=f"{service} healthy and ready")
        print(f"compose: {service} healthy and /readyz 200 {time.monotonic() - began:.0f} s after up")

    # the README's commands: a unit's token issued by intake to the operator (tdkt unit token, over the
    # broker's published port), a submission with the unit's own user, and the acknowledgement in the
    # mail catcher
    tdkt = shutil.which("tdkt", path=os.path.dirname(sys.executable))
    port = project.env["TDKT_AMQP_PORT"]
    issued = subprocess.run(["nsenter", f"--net=/run/netns/{project.namespace}", tdkt, "unit", "token", "vp"],
                            env={**os.environ, "TDKT_ADMIN_TOKEN": project.env["TDKT_ADMIN_TOKEN"],
                                 "AMQP_URI": f"amqp://tdkt-operator:tdkt-operator-local@localhost:{port}/tdkt"},
                            capture_output=True, text=True, timeout=120)
    assert issued.returncode == 0, issued.stdout + issued.stderr
    token = issued.stdout.strip()
    env = {**os.environ, "TDKT_UNIT_TOKEN": token,
           "AMQP_URI": f"amqp://tdkt-unit:tdkt-unit-local@localhost:{port}/tdkt"}
    submitted = subprocess.run(["nsenter", f"--net=/run/netns/{project.namespace}", tdkt, "submit",
                                str(ROOT / "deploy/examples/nomination.json")], env=env, capture_output=True,
                               text=True, timeout=120)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr

    def mails():
        listing = podman("exec", container(project, "mailpit"), "sh", "-c",
                         "grep -h '^To:' /data/maildir/new/* 2>/dev/null || true").stdout
        return listing.split()[1::2]
    assert wait_until(mails, timeout=90, interval=1, what="the acknowledgement") == ["vanphong@example.vn"]

    for service in SERVICES:  # SIGTERM, each within its stop_grace_period (30 s)
        began = time.monotonic()
        podman("stop", "--time=30", container(project, service), timeout=120)
        took = time.monotonic() - began
        code = podman("inspect", "--format", "{{.State.ExitCode}}", container(project, service)).stdout.strip()
        print(f"compose: {service} stopped on SIGTERM in {took:.1f} s, exit code {code}")
        assert code == "0" and took < 30
