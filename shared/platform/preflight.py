"""Checks ``make run`` makes before starting anything: configuration, what review's documents need
(LibreOffice and a Times-compatible font) and a reachable RabbitMQ."""
import os
import shutil
import subprocess
import sys

from kombu import Connection

from shared.platform.config import ConfigError, redact, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"tdkt: configuration error: {exc}", file=sys.stderr)
        return 2
    missing = missing_for_documents()
    if missing:
        print(f"""tdkt: review renders a sitting's documents with LibreOffice, and {' and '.join(missing)} missing.
  Install them (Debian/Ubuntu, as root): apt-get install --no-install-recommends \\
      libreoffice-writer-nogui fonts-liberation2 fonts-croscore poppler-utils
  or run '.ci/run' / 'make system-deps', then run 'make run' again.""", file=sys.stderr)
        return 4
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


FONTS = ("Liberation Serif", "Tinos", "Times New Roman")  # Times New Roman or metric-compatible


def missing_for_documents(which=shutil.which, run=subprocess.run) -> list[str]:
    """What of LibreOffice (``TDKT_SOFFICE`` or ``soffice``) and a Times-compatible font is not installed."""
    missing = []
    if which(os.environ.get("TDKT_SOFFICE") or "soffice") is None:
        missing.append("LibreOffice (soffice) is")
    try:
        fonts = run(["fc-list", ":", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        fonts = ""
    if not any(font in fonts for font in FONTS):
        missing.append(f"a Times-compatible font ({', '.join(FONTS)}) is")
    return missing


if __name__ == "__main__":
    sys.exit(main())
