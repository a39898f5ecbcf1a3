"""Configuration, read once from the environment at the edge (``../shared/contract.md``).

Every variable has a working local default. A malformed value raises :class:`ConfigError`, whose
message names the variable, so a service refuses to start with a clear line instead of failing later.
Outside the local profile (``TDKT_PROFILE=production``) the secrets must be set explicitly.

Long because every setting, its default, its check and its message live in one place: settings are
read once, at the edge.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

LOCAL_ADMIN_TOKEN = "local-admin-token"
LOCAL_SECRET_KEY = "local-secret-key-not-for-production"
PROFILES = ("local", "production")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")  # a trial on one machine: its links go nowhere else
PLACEHOLDER = "change-me"  # deploy/.env.example's secrets start with it
_PLACEHOLDER = re.compile(r"change[-_ ]?me", re.IGNORECASE)  # also change_me, changeme, CHANGE-ME
SMTPS_PORT = 465  # implicit TLS, which notify does not speak (it upgrades with STARTTLS)
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+\Z")


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""


def read_at_start(service: str, read):
    """``read()``, a setting ``service`` needs to start: a ``ConfigError`` is logged as the reason the
    service cannot start (the operator's first line to read), then raised, which stops it."""
    try:
        return read()
    except ConfigError as exc:
        logging.getLogger(__name__).critical("%s cannot start: %s", service, exc)
        raise


@dataclass(frozen=True)
class Settings:
    profile: str
    var_dir: Path
    amqp_uri: str
    intake_db_url: str
    review_db_url: str
    notify_db_url: str
    smtp_host: str
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    smtp_timeout: float
    mail_from: str
    admin_token: str
    secret_key: str
    rules_file: Path | None = None
    smtp_ca_file: Path | None = None  # trust these certificates for STARTTLS (default: the system's)
    holidays: frozenset | None = None  # None: the built-in list of Vietnam's public holidays
    reminder_hours: float = 24.0  # remind members who have not voted this long before the deadline
    mail_retry_seconds: float = 30.0  # first delay after a temporary SMTP failure (then doubling)
    retry_seconds: float = 1.0  # first delay before a failed event is handled again (then doubling)
    queue_type: str = "classic"  # "quorum": replicated durable queues, for a RabbitMQ cluster
    smtp_connections: int = 4  # mails sent at once, each sender on a connection of its own
    public_url: str = "http://localhost:8002"  # where members reach review's ballot page (links in mail)
    council_amqp_uri: str | None = None  # the ballot page publishes council.vote_cast as this client
    register_check: str = "strict"  # claimed titles against the award register: strict | warn | off
    documents_gather_seconds: float = 20.0  # a lone sitting's documents wait this long for others to batch with
    documents_quiet_wait_seconds: float = 600.0  # due documents wait at most this long for a quiet machine

    def db_url(self, service: str) -> str:
        """The service's database URL; the production profile refuses SQLite here, where the service
        is known (a SQLite file is one private database per replica, not shared state)."""
        url = getattr(self, f"{service}_db_url")
        if self.profile == "production" and urlsplit(url).scheme.split("+")[0] == "sqlite":
            raise ConfigError(f"{service.upper()}_DB_URL must be a PostgreSQL URL when TDKT_PROFILE is production "
                              f"(SQLite is one private database per replica), got {redact(url)!r}")
        return url


def tick_seconds(environ: dict | None = None) -> float:
    """Seconds between the timers' looks (sittings past their deadline, comment periods to open or
    release, members to remind): ``TDKT_TICK_SECONDS``, 5 unless set (``shared.platform.tick``)."""
    return _Reader(os.environ if environ is None else environ).number("TDKT_TICK_SECONDS", 5.0, 0.1, 3600.0)


def load_settings(environ: dict | None = None) -> Settings:
    env = os.environ if environ is None else environ
    read = _Reader(env)
    profile = read.choice("TDKT_PROFILE", "local", PROFILES)
    var_dir = Path(read.text("TDKT_VAR_DIR", "var"))
    settings = Settings(
        profile=profile,
        var_dir=var_dir,
        amqp_uri=read.url("AMQP_URI", "amqp://guest:guest@localhost:5672/", ("amqp", "amqps", "pyamqp")),
        intake_db_url=read.db_url("INTAKE_DB_URL", var_dir / "intake.db"),
        review_db_url=read.db_url("REVIEW_DB_URL", var_dir / "review.db"),
        notify_db_url=read.db_url("NOTIFY_DB_URL", var_dir / "notify.db"),
        smtp_host=read.text("SMTP_HOST", "localhost"),
        smtp_port=read.integer("SMTP_PORT", 1025, 1, 65535),
        smtp_user=read.optional("SMTP_USER"),
        smtp_password=read.optional("SMTP_PASSWORD"),
        smtp_starttls=read.boolean("SMTP_STARTTLS", False),
        smtp_timeout=read.number("SMTP_TIMEOUT", 30.0, 0.1, 600.0),
        mail_from=read.email("MAIL_FROM", "tdkt@localhost.localdomain"),
        admin_token=read.secret("TDKT_ADMIN_TOKEN", LOCAL_ADMIN_TOKEN, profile),
        secret_key=read.secret("TDKT_SECRET_KEY", LOCAL_SECRET_KEY, profile, from_file=True),
        rules_file=read.existing_file("TDKT_RULES_FILE"),
        smtp_ca_file=read.existing_file("SMTP_CA_FILE"),
        holidays=read.dates("TDKT_HOLIDAYS"),
        reminder_hours=read.number("TDKT_REMINDER_HOURS", 24.0, 0.0, 24.0 * 60),
        mail_retry_seconds=read.number("TDKT_MAIL_RETRY_SECONDS", 30.0, 0.01, 3600.0),
        retry_seconds=read.number("TDKT_RETRY_SECONDS", 1.0, 0.01, 600.0),
        queue_type=read.choice("TDKT_QUEUE_TYPE", "classic", ("classic", "quorum")),
        smtp_connections=read.integer("SMTP_CONNECTIONS", 4, 1, 32),
        documents_gather_seconds=read.number("TDKT_DOCUMENTS_GATHER_SECONDS", 20.0, 0.0, 3600.0),
        documents_quiet_wait_seconds=read.number("TDKT_DOCUMENTS_QUIET_WAIT_SECONDS", 600.0, 0.0, 86400.0),
        public_url=read.url("TDKT_PUBLIC_URL", "http://localhost:8002", ("http", "https")).rstrip("/"),
        council_amqp_uri=read.optional("TDKT_COUNCIL_AMQP_URI") and read.url("TDKT_COUNCIL_AMQP_URI", None,
                                                                            ("amqp", "amqps", "pyamqp")),
        register_check=read.choice("TDKT_REGISTER_CHECK", "strict", ("strict", "warn", "off")),
    )
    if (settings.smtp_user is None) != (settings.smtp_password is None):
        raise ConfigError("SMTP_USER and SMTP_PASSWORD must be set together")
    if profile == "production":
        refuse_unsafe_production_values(settings)
    return settings


def refuse_unsafe_production_values(settings: Settings) -> None:
    """What the production profile refuses besides missing secrets: the ``change-me-...`` placeholders
    of ``deploy/.env.example`` (however written or percent-encoded), RabbitMQ's ``guest`` account (in
    ``AMQP_URI`` or ``TDKT_COUNCIL_AMQP_URI``, also when the URL names no login or an empty one, which
    kombu and py-amqp fill in as guest:guest), an SMTP login without STARTTLS (the password would cross
    the network in clear), SMTPS's port 465, and a ``TDKT_PUBLIC_URL`` in plain http to anywhere but
    this machine (the ballot links in the mail carry each member's token). SQLite is refused by
    :meth:`Settings.db_url`."""
    brokers = {"AMQP_URI": settings.amqp_uri, "TDKT_COUNCIL_AMQP_URI": settings.council_amqp_uri or ""}
    secrets = {"TDKT_ADMIN_TOKEN": settings.admin_token, "TDKT_SECRET_KEY": settings.secret_key,
               "SMTP_PASSWORD": settings.smtp_password or "",
               **{name: " ".join(password for _, password in _logins(uri)) for name, uri in brokers.items()},
               **{f"{service.upper()}_DB_URL": " ".join(password for _, password in
                                                        _logins(getattr(settings, f"{service}_db_url")))
                  for service in ("intake", "review", "notify")}}
    for name, value in secrets.items():
        if _PLACEHOLDER.search(value):
            raise ConfigError(f"{name} still holds a {PLACEHOLDER}... placeholder from deploy/.env.example: "
                              "set a fresh random secret when TDKT_PROFILE is production")
    for name, uris in brokers.items():
        for uri in filter(None, (part.strip() for part in uris.split(";"))):
            user, _ = _broker_login(uri)
            if user == "guest":
                raise ConfigError(f"{name} must name a broker user of its own, not guest (RabbitMQ's "
                                  "administrator, also what a URL without a login logs in as), when "
                                  f"TDKT_PROFILE is production, got {redact(uri)!r}")
    if settings.smtp_user is not None and not settings.smtp_starttls:
        raise ConfigError("SMTP_STARTTLS must be true when SMTP_USER and SMTP_PASSWORD are set and TDKT_PROFILE "
                          "is production (the login would cross the network in clear)")
    public = urlsplit(settings.public_url)
    if public.scheme != "https" and public.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(f"TDKT_PUBLIC_URL must be an https URL when TDKT_PROFILE is production (each ballot "
                          f"link in the mail carries a member's token), got {redact(settings.public_url)!r}; "
                          "plain http is taken only for this machine (localhost)")
    if settings.smtp_port == SMTPS_PORT:
        raise ConfigError(f"SMTP_PORT {SMTPS_PORT} is SMTPS (TLS from the first byte), which notify does not "
                          "speak: use the submission port 587 with SMTP_STARTTLS=true when TDKT_PROFILE is "
                          "production")


def _logins(urls: str) -> list[tuple[str, str]]:
    """``(user, password)`` of each URL of ``urls`` (``;``-separated), percent-decoded as drivers read them."""
    logins = []
    for uri in filter(None, (part.strip() for part in urls.split(";"))):
        parts = urlsplit(uri)
        logins.append((unquote(parts.username or ""), unquote(parts.password or "")))
    return logins


def _broker_login(uri: str) -> tuple[str, str]:
    """The login kombu and py-amqp use for ``uri``: an absent or empty user or password is guest's."""
    [(user, password)] = _logins(uri)
    return user or "guest", password or "guest"


class _Reader:
    def __init__(self, env):
        self.env = env

    def _raw(self, name):
        value = self.env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def text(self, name, default):
        value = self._raw(name)
        if value is not None and any(ch in value for ch in "\r\n\0"):
            raise ConfigError(f"{name} must be a single line")
        return default if value is None else value

    def optional(self, name):
        return self._raw(name) and self.text(name, None)

    def existing_file(self, name):
        value = self.optional(name)
        if value is not None and not Path(value).is_file():
            raise ConfigError(f"{name} must name an existing file, got {value!r}")
        return None if value is None else Path(value)

    def dates(self, name):
        value = self.optional(name)
        if value is None:
            return None
        try:
            return frozenset(date.fromisoformat(part) for part in re.split(r"[\s,]+", value) if part)
        except ValueError:
            raise ConfigError(f"{name} must list ISO dates (2026-01-01, 2026-04-30 ...), got {value!r}") from None

    def choice(self, name, default, allowed):
        value = self.text(name, default)
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def integer(self, name, default, low, high):
        value = self._raw(name)
        if value is None:
            return default
        if not re.fullmatch(r"\d+", value) or not low <= int(value) <= high:
            raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
        return int(value)

    def number(self, name, default, low, high):
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise ConfigError(f"{name} must be a number from {low} to {high}, got {value!r}")
        return number

    def boolean(self, name, default):
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {value!r}")

    def url(self, name, default, schemes):
        value = self.text(name, default)
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            raise ConfigError(
                f"{name} must be a URL like {default} (scheme {'/'.join(schemes)}), got {redact(value)!r}")
        return value

    def db_url(self, name, default_path):
        value = with_driver(self.text(name, f"sqlite:///{default_path}"))
        scheme = urlsplit(value).scheme.split("+")[0]
        if scheme not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"{name} must be an SQLAlchemy URL for sqlite or postgresql, got {redact(value)!r}")
        return value

    def email(self, name, default):
        value = self.text(name, default)
        if not _EMAIL.match(value):
            raise ConfigError(f"{name} must be an email address, got {value!r}")
        return value

    def secret(self, name, local_default, profile, from_file=False):
        """``name``, or (``from_file``) the first line of the file ``<name>_FILE`` names (a mounted
        secret), never both."""
        value = self._raw(name) and self.text(name, None)
        path = self.existing_file(f"{name}_FILE") if from_file else None
        if path is not None:
            if value is not None:
                raise ConfigError(f"set {name} or {name}_FILE, not both")
            lines = path.read_text(encoding="utf-8").strip().splitlines()
            value = lines[0].strip() if lines else None
        if value is None or (profile != "local" and value == local_default):
            if profile != "local":
                raise ConfigError(f"{name} must be set (not to the local default) when TDKT_PROFILE is {profile}")
            return local_default
        if len(value) < 16:
            raise ConfigError(f"{name} must be at least 16 characters long")
        return value


def with_driver(url: str) -> str:
    """``url`` with the driver the services ship (psycopg2) when it names PostgreSQL without one, as
    a managed PostgreSQL hands it out (``postgresql://`` or Heroku-style ``postgres://``): SQLAlchemy
    2.1 reads a bare ``postgresql://`` as psycopg 3, which is not installed, and knows no ``postgres``."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme.lower() in ("postgresql", "postgres"):
        return f"postgresql+psycopg2://{rest}"
    return url


def redact(url: str) -> str:
    """A URL with its password hidden, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()
