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


def test_without_libreoffice_make_run_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setenv("TDKT_SOFFICE", "soffice-that-is-not-installed")
    assert preflight.main() == 4
    message = capsys.readouterr().err
    assert "LibreOffice (soffice) is" in message and "libreoffice-writer-nogui" in message


def test_without_a_times_compatible_font_make_run_says_so():
    class NoFonts:
        stdout = "DejaVu Sans\nNoto Sans\n"

    missing = preflight.missing_for_documents(which=lambda name: "/usr/bin/soffice", run=lambda *a, **k: NoFonts)
    assert missing == ["a Times-compatible font (Liberation Serif, Tinos, Times New Roman) is"]


def test_with_libreoffice_and_liberation_serif_nothing_is_missing():
    class Fonts:
        stdout = "Liberation Serif\nLiberation Sans\n"

    assert preflight.missing_for_documents(which=lambda name: "/usr/bin/soffice", run=lambda *a, **k: Fonts) == []
