"""``python -m shared.platform.healthcheck SERVICE``: which queues it looks at, how it reads its arguments and
environment, and what it answers without a broker (tests/integration/test_healthcheck.py has one)."""
import subprocess
import sys

import pytest

from shared.platform import healthcheck
from tests.harness import ROOT, expected_queues, free_port


@pytest.mark.parametrize("service", ["intake", "review", "notify"])
def test_it_looks_at_exactly_the_queues_the_running_service_consumes(service):
    assert healthcheck.consumed_queues(healthcheck.service_class(service)) == expected_queues(service)


def test_a_service_is_healthy_only_when_every_queue_exists_with_a_consumer():
    assert healthcheck.verdict({"rpc-intake": 1, "evt-a": 2}) == (True, [])
    assert healthcheck.verdict({"rpc-intake": 1, "evt-a": 0, "evt-b": None}) == \
        (False, ["evt-a: no consumer", "evt-b: absent"])


@pytest.mark.parametrize("argv", [[], ["billing"], ["intake", "review"], ["intake", "--timeout"]])
def test_a_missing_or_unknown_service_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        healthcheck.main(argv, {})

    assert exited.value.code == healthcheck.USAGE
    assert "usage: python -m shared.platform.healthcheck" in capsys.readouterr().err


@pytest.mark.parametrize("timeout", ["0", "-1", "301", "soon", "nan"])
def test_the_timeout_must_be_a_number_of_seconds_up_to_five_minutes(timeout, capsys):
    with pytest.raises(SystemExit) as exited:
        healthcheck.parse_args(["review", "--timeout", timeout])

    assert exited.value.code == healthcheck.USAGE
    assert "--timeout" in capsys.readouterr().err


def test_the_timeout_defaults_to_five_seconds_and_takes_fractions():
    assert healthcheck.parse_args(["notify"]).timeout == 5.0
    assert healthcheck.parse_args(["notify", "--timeout", "2.5"]).timeout == 2.5


def test_a_malformed_broker_url_is_a_configuration_error_naming_the_variable(capsys):
    assert healthcheck.main(["intake"], {"AMQP_URI": "http://rabbitmq:5672/"}) == healthcheck.USAGE
    assert "AMQP_URI" in capsys.readouterr().err


def test_a_broker_out_of_reach_is_unhealthy_and_the_password_stays_hidden(capsys):
    uri = f"amqp://tdkt-intake:s3cret-pw@127.0.0.1:{free_port()}/tdkt"

    assert healthcheck.main(["intake", "--timeout", "2"], {"AMQP_URI": uri}) == healthcheck.UNHEALTHY
    out = capsys.readouterr().out
    assert "cannot reach RabbitMQ" in out and "s3cret-pw" not in out


def test_it_runs_as_a_module_with_usage_on_bad_arguments():
    ran = subprocess.run([sys.executable, "-m", "shared.platform.healthcheck", "billing"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)

    assert ran.returncode == healthcheck.USAGE and "invalid choice: 'billing'" in ran.stderr
