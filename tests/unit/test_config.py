"""Configuration is read from a plain dict here, so no test depends on the real environment.

Long because every variable's refusals are here, and the production profile's in each shape a careless
operator could write them (#22.2)."""
from pathlib import Path

import pytest

from shared.platform.config import LOCAL_ADMIN_TOKEN, ConfigError, load_settings, redact

SECRETS = {"TDKT_ADMIN_TOKEN": "a" * 16, "TDKT_SECRET_KEY": "k" * 32}
PRODUCTION = {"TDKT_PROFILE": "production", **SECRETS, "AMQP_URI": "amqp://tdkt-intake:s3cret-pass@rabbitmq:5672/tdkt",
              "INTAKE_DB_URL": "postgresql+psycopg2://tdkt_intake:s3cret-pass@postgres:5432/intake"}


def refusal(environ: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    return str(caught.value)


def test_an_empty_environment_gives_working_local_defaults():
    settings = load_settings({})

    assert settings.profile == "local"
    assert settings.amqp_uri == "amqp://guest:guest@localhost:5672/"
    assert settings.smtp_port == 1025
    assert settings.smtp_starttls is False
    assert (settings.smtp_user, settings.smtp_password) == (None, None)
    assert settings.admin_token == LOCAL_ADMIN_TOKEN


@pytest.mark.parametrize("service", ["intake", "review", "notify"])
def test_each_service_defaults_to_its_own_sqlite_file_under_var(service):
    url = load_settings({}).db_url(service)

    assert url.startswith("sqlite:///")
    assert Path(url.removeprefix("sqlite:///")) == Path("var") / f"{service}.db"


def test_the_var_directory_moves_the_default_database_files():
    settings = load_settings({"TDKT_VAR_DIR": "/srv/tdkt"})

    assert settings.intake_db_url == "sqlite:////srv/tdkt/intake.db"


def test_blank_values_count_as_unset():
    assert load_settings({"SMTP_PORT": "  ", "SMTP_USER": ""}).smtp_port == 1025


def test_well_formed_values_are_parsed_into_their_types():
    settings = load_settings({"SMTP_PORT": "587", "SMTP_STARTTLS": "yes", "SMTP_TIMEOUT": "2.5",
                              "INTAKE_DB_URL": "postgresql+psycopg2://u:p@db/intake",
                              "AMQP_URI": "amqps://u:p@rabbit:5671/tdkt"})

    assert (settings.smtp_port, settings.smtp_starttls, settings.smtp_timeout) == (587, True, 2.5)
    assert (settings.smtp_connections, load_settings({"SMTP_CONNECTIONS": "8"}).smtp_connections) == (4, 8)
    assert (settings.documents_gather_seconds,
            load_settings({"TDKT_DOCUMENTS_GATHER_SECONDS": "0"}).documents_gather_seconds) == (20.0, 0.0)
    assert (settings.documents_quiet_wait_seconds, load_settings(
        {"TDKT_DOCUMENTS_QUIET_WAIT_SECONDS": "0"}).documents_quiet_wait_seconds) == (600.0, 0.0)
    assert settings.intake_db_url == "postgresql+psycopg2://u:p@db/intake"


@pytest.mark.parametrize("name, value", [
    ("SMTP_PORT", "smtp"),
    ("SMTP_PORT", "0"),
    ("SMTP_PORT", "65536"),
    ("SMTP_PORT", "-25"),
    ("SMTP_STARTTLS", "maybe"),
    ("SMTP_TIMEOUT", "soon"),
    ("SMTP_TIMEOUT", "0"),
    ("SMTP_TIMEOUT", "nan"),
    ("SMTP_CONNECTIONS", "0"),
    ("SMTP_CONNECTIONS", "33"),
    ("SMTP_CONNECTIONS", "many"),
    ("TDKT_DOCUMENTS_GATHER_SECONDS", "-1"),
    ("TDKT_DOCUMENTS_GATHER_SECONDS", "3601"),
    ("TDKT_DOCUMENTS_GATHER_SECONDS", "inf"),
    ("TDKT_DOCUMENTS_GATHER_SECONDS", "a while"),
    ("TDKT_DOCUMENTS_QUIET_WAIT_SECONDS", "-5"),
    ("TDKT_DOCUMENTS_QUIET_WAIT_SECONDS", "86401"),
    ("TDKT_DOCUMENTS_QUIET_WAIT_SECONDS", "nan"),
    ("AMQP_URI", "http://guest:guest@localhost:5672/"),
    ("AMQP_URI", "amqp:///"),
    ("INTAKE_DB_URL", "mysql://root@db/intake"),
    ("REVIEW_DB_URL", "not a url"),
    ("MAIL_FROM", "tdkt"),
    ("MAIL_FROM", "TDKT <tdkt@example.vn>"),
    ("TDKT_PROFILE", "staging"),
    ("SMTP_HOST", "mail\nBcc: x@evil.example"),
    ("SMTP_PASSWORD", "pass\rword"),
    ("MAIL_FROM", "tdkt@example.vn\nx@example.vn"),
])
def test_a_malformed_value_is_refused_with_a_message_naming_the_variable(name, value):
    assert name in refusal({name: value})


@pytest.mark.parametrize("name", [
    "TDKT_ADMIN_TOKEN",
    "TDKT_SECRET_KEY",
])
def test_a_secret_with_a_line_break_inside_is_refused(name):
    assert name in refusal({name: "first-half-of-it\nsecond-half-of-it"})


@pytest.mark.parametrize("missing", ["TDKT_ADMIN_TOKEN", "TDKT_SECRET_KEY"])
def test_the_production_profile_requires_each_secret_to_be_set(missing):
    environ = {"TDKT_PROFILE": "production", **SECRETS}
    del environ[missing]

    assert missing in refusal(environ)


def test_the_production_profile_starts_with_both_secrets_set():
    settings = load_settings(PRODUCTION)

    assert (settings.admin_token, settings.secret_key) == (SECRETS["TDKT_ADMIN_TOKEN"], SECRETS["TDKT_SECRET_KEY"])
    assert settings.db_url("intake") == PRODUCTION["INTAKE_DB_URL"]


@pytest.mark.parametrize("name, value", [
    ("TDKT_ADMIN_TOKEN", "change-me-admin-token"),
    ("TDKT_SECRET_KEY", "change-me-secret-key"),
    ("AMQP_URI", "amqp://tdkt-intake:change-me-amqp@rabbitmq:5672/tdkt"),
    ("INTAKE_DB_URL", "postgresql+psycopg2://tdkt_intake:change-me-intake-db@postgres:5432/intake"),
    ("REVIEW_DB_URL", "postgresql+psycopg2://tdkt_review:CHANGE-ME-review-db@postgres:5432/review"),
])
def test_the_production_profile_refuses_the_change_me_placeholders_of_the_env_example(name, value):
    message = refusal({**PRODUCTION, name: value})

    assert name in message and "change-me" in message
    assert value not in message or not value.startswith(("amqp", "postgresql"))  # no password echoed


def test_the_production_profile_refuses_a_change_me_smtp_password():
    environ = {**PRODUCTION, "SMTP_USER": "mailer", "SMTP_PASSWORD": "change-me-smtp", "SMTP_STARTTLS": "true"}

    assert "SMTP_PASSWORD" in refusal(environ)


@pytest.mark.parametrize("uri", [None, "amqp://guest:guest@localhost:5672/", "amqp://guest:guest@127.0.0.1/",
                                 "amqp://tdkt-intake:pw@node1/tdkt;amqp://guest:guest@localhost/"])
def test_the_production_profile_refuses_rabbitmqs_guest_account(uri):
    environ = {key: value for key, value in PRODUCTION.items() if key != "AMQP_URI"}
    if uri is not None:
        environ["AMQP_URI"] = uri

    message = refusal(environ)

    assert "AMQP_URI" in message and "guest" in message
    assert load_settings({"AMQP_URI": uri} if uri else {}).amqp_uri  # the local profile keeps its default


@pytest.mark.parametrize("service", ["intake", "review", "notify"])
def test_the_production_profile_refuses_sqlite_for_the_services_own_database(service):
    variable = f"{service.upper()}_DB_URL"
    explicit = load_settings({**PRODUCTION, variable: f"sqlite:////srv/{service}.db"})
    implicit = load_settings({key: value for key, value in PRODUCTION.items() if key != variable})

    for settings in (explicit, implicit):
        with pytest.raises(ConfigError, match=variable):
            settings.db_url(service)
    assert load_settings({}).db_url(service).startswith("sqlite:///")  # fine locally


def test_the_production_profile_refuses_an_smtp_login_without_starttls():
    login = {**PRODUCTION, "SMTP_USER": "mailer", "SMTP_PASSWORD": "s3cret-smtp-password"}

    message = refusal(login)

    assert "SMTP_STARTTLS" in message and "s3cret" not in message
    assert load_settings({**login, "SMTP_STARTTLS": "true"}).smtp_starttls
    assert load_settings({**login, "TDKT_PROFILE": "local"}).smtp_user == "mailer"  # a local sink may take it


@pytest.mark.parametrize("name", ["TDKT_ADMIN_TOKEN", "TDKT_SECRET_KEY"])
def test_a_secret_shorter_than_sixteen_characters_is_refused_even_locally(name):
    assert name in refusal({name: "x" * 15})
    assert getattr(load_settings({name: "x" * 16}), name.removeprefix("TDKT_").lower()) == "x" * 16


@pytest.mark.parametrize("environ", [{"SMTP_USER": "mailer"}, {"SMTP_PASSWORD": "s3cret"}])
def test_smtp_user_and_password_are_refused_one_without_the_other(environ):
    message = refusal(environ)

    assert "SMTP_USER" in message and "SMTP_PASSWORD" in message


def test_the_amqp_password_is_hidden_in_the_error_message():
    message = refusal({"AMQP_URI": "http://guest:hunter2@rabbit:5672/"})

    assert "AMQP_URI" in message
    assert "hunter2" not in message
    assert "guest:***@rabbit" in message


def test_the_database_password_is_hidden_in_the_error_message():
    assert "hunter2" not in refusal({"NOTIFY_DB_URL": "mysql://tdkt:hunter2@db/notify"})


def test_redact_keeps_a_url_without_a_password_unchanged():
    assert redact("amqp://localhost:5672/") == "amqp://localhost:5672/"
    assert redact("sqlite:///var/intake.db") == "sqlite:///var/intake.db"


def test_redact_hides_all_of_a_password_that_contains_an_at_sign():
    assert "secret" not in redact("http://guest:top@secret@rabbit/")


def test_redact_hides_a_password_given_without_a_user_name():
    assert "hunter2" not in redact("http://:hunter2@rabbit/")


def test_the_master_secret_may_come_from_a_key_file_but_not_from_both(tmp_path):
    from shared.platform.config import ConfigError, load_settings

    key_file = tmp_path / "secret-key"
    key_file.write_text("a-master-secret-read-from-a-file\n", encoding="utf-8")

    assert load_settings({"TDKT_SECRET_KEY_FILE": str(key_file)}).secret_key == "a-master-secret-read-from-a-file"
    with pytest.raises(ConfigError, match="not both"):
        load_settings({"TDKT_SECRET_KEY_FILE": str(key_file), "TDKT_SECRET_KEY": "another-secret-of-sixteen"})
    with pytest.raises(ConfigError, match="TDKT_SECRET_KEY_FILE must name an existing file"):
        load_settings({"TDKT_SECRET_KEY_FILE": str(tmp_path / "missing")})
    key_file.write_text("short\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="at least 16"):
        load_settings({"TDKT_SECRET_KEY_FILE": str(key_file)})


def test_the_ballot_pages_public_address_defaults_to_make_runs_review_and_must_be_http():
    assert load_settings({}).public_url == "http://localhost:8002"
    assert load_settings({"TDKT_PUBLIC_URL": "https://tdkt.example.vn/"}).public_url == "https://tdkt.example.vn"
    with pytest.raises(ConfigError, match="TDKT_PUBLIC_URL"):
        load_settings({"TDKT_PUBLIC_URL": "javascript:alert(1)"})
    with pytest.raises(ConfigError, match="TDKT_COUNCIL_AMQP_URI"):
        load_settings({"TDKT_COUNCIL_AMQP_URI": "http://broker"})


@pytest.mark.parametrize("uri", [
    "amqp://rabbitmq:5672/tdkt",                   # no login: kombu and py-amqp then log in as guest:guest
    "amqp://guest:@rabbitmq/tdkt",                 # an empty password: the same
    "amqp://:@rabbitmq/tdkt",
    "amqp://gu%65st:gu%65st@rabbitmq/tdkt",        # percent-encoded, as kombu decodes it
    "amqp://guest:an0ther-long-password@rabbitmq/tdkt",  # guest is the broker's administrator, whatever its password
])
def test_the_production_profile_refuses_every_way_of_logging_in_as_guest(uri):
    message = refusal({**PRODUCTION, "AMQP_URI": uri})

    assert "AMQP_URI" in message and "guest" in message and "an0ther" not in message


@pytest.mark.parametrize("password", ["change_me-amqp", "changeme", "Change%2DMe-amqp", "%63hange-me-amqp"])
def test_the_production_profile_refuses_change_me_written_another_way_or_percent_encoded(password):
    message = refusal({**PRODUCTION, "AMQP_URI": f"amqp://tdkt-intake:{password}@rabbitmq:5672/tdkt"})

    assert "AMQP_URI" in message and "change-me" in message


@pytest.mark.parametrize("uri", ["amqp://guest:guest@localhost:5672/", "amqp://rabbitmq/tdkt",
                                 "amqp://tdkt-council:change-me-council@rabbitmq/tdkt"])
def test_the_production_profile_checks_the_ballot_pages_broker_login_too(uri):
    assert "TDKT_COUNCIL_AMQP_URI" in refusal({**PRODUCTION, "TDKT_COUNCIL_AMQP_URI": uri})


def test_the_production_profile_refuses_smtps_port_465_which_notify_does_not_speak():
    environ = {**PRODUCTION, "SMTP_PORT": "465", "SMTP_USER": "mailer", "SMTP_PASSWORD": "s3cret-smtp-password",
               "SMTP_STARTTLS": "true"}

    message = refusal(environ)

    assert "SMTP_PORT" in message and "587" in message
    assert load_settings({**environ, "SMTP_PORT": "587"}).smtp_port == 587


@pytest.mark.parametrize("url", ["http://tdkt.bo.gov.vn", "http://10.0.0.5:8002/", "http://review:8000"])
def test_production_refuses_ballot_links_in_plain_http_to_another_machine(url):
    assert "TDKT_PUBLIC_URL must be an https URL" in refusal({**PRODUCTION, "TDKT_PUBLIC_URL": url})
    assert load_settings({"TDKT_PUBLIC_URL": url}).public_url == url.rstrip("/")  # the local profile takes it


@pytest.mark.parametrize("url", ["https://tdkt.bo.gov.vn", "http://localhost:8002", "http://127.0.0.1:8002",
                                 "http://[::1]:8002", None])
def test_production_takes_https_and_plain_http_to_this_machine(url):
    environ = {**PRODUCTION, **({"TDKT_PUBLIC_URL": url} if url else {})}
    assert load_settings(environ).public_url == (url or "http://localhost:8002")


def test_the_timers_look_every_five_seconds_unless_told_and_refuse_what_is_not_a_sane_interval():
    from shared.platform.config import tick_seconds

    assert (tick_seconds({}), tick_seconds({"TDKT_TICK_SECONDS": "0.5"})) == (5.0, 0.5)
    for wrong in ("0", "-1", "often", "86400"):
        with pytest.raises(ConfigError, match="TDKT_TICK_SECONDS"):
            tick_seconds({"TDKT_TICK_SECONDS": wrong})
