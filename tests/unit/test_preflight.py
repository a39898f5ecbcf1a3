"""`make run` says plainly what to do when RabbitMQ cannot be reached."""
from shared.platform import preflight
from tests.harness import free_port


def test_an_unreachable_broker_is_explained_without_showing_its_password(monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", f"amqp://guest:s3cret-pw@127.0.0.1:{free_port()}/")
    assert preflight.main() == 3
    message = capsys.readouterr().err
    assert "cannot reach RabbitMQ" in message and "AMQP_URI" in message and "make run" in message
    assert "s3cret-pw" not in message


def test_a_malformed_setting_is_reported_before_anything_starts(monkeypatch, capsys):
    monkeypatch.setenv("SMTP_PORT", "smtp")
    assert preflight.main() == 2
    assert "SMTP_PORT" in capsys.readouterr().err
