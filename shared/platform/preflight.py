"""Checks ``make run`` makes before starting anything: configuration and a reachable RabbitMQ."""
import sys

from kombu import Connection

from shared.platform.config import ConfigError, redact, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"tdkt: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        with Connection(settings.amqp_uri, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # any failure to connect means the same advice
        print(f"""tdkt: cannot reach RabbitMQ at {redact(settings.amqp_uri)} ({exc}).
  Start it (Debian/Ubuntu: 'sudo rabbitmq-server -detached', or
  'docker run -d -p 5672:5672 rabbitmq:3-management'), or point AMQP_URI at a running broker,
  then run 'make run' again.""", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
