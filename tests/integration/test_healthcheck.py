"""The containers' health check against a real broker, as deploy/compose.yml and deploy/k8s run it: under
the service's own RabbitMQ user, unhealthy while the service's queues are absent, healthy while a real
service container consumes them, unhealthy again once it stopped and its queues have no consumer."""
import os
import subprocess
import sys

import pytest

from shared.platform.healthcheck import HEALTHY, UNHEALTHY, SERVICE_CLASSES, service_class
from tests.harness import ROOT
from tests.rabbit_users import Broker


@pytest.fixture
def broker(rabbit_config, request):
    """This test's vhost with deploy/rabbitmq/definitions.json loaded, so the services' users exist."""
    return Broker(rabbit_config, request.config.getoption("RABBIT_API_URI"))


def check(service: str, amqp_uri: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shared.platform.healthcheck", service, "--timeout", "10"], cwd=ROOT,
                          env={**os.environ, "AMQP_URI": amqp_uri, "EVENTLET_TESTS": "1"},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("service", sorted(SERVICE_CLASSES))
def test_a_service_is_healthy_exactly_while_a_container_consumes_its_queues(service, container_factory,
                                                                          rabbit_config, service_env, broker):
    uri = broker.uri(f"tdkt-{service}")
    before = check(service, uri)
    assert (before.returncode, before.stderr) == (UNHEALTHY, "")
    assert f"rpc-{service}: absent" in before.stdout

    container = container_factory(service_class(service), {**rabbit_config, "AMQP_URI": uri})
    container.start()
    running = check(service, uri)
    assert running.returncode == HEALTHY, running.stdout + running.stderr

    container.stop()
    after = check(service, uri)
    assert after.returncode == UNHEALTHY and f"rpc-{service}: no consumer" in after.stdout
