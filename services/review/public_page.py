"""The public comment page's rules (issue #18), apart from HTTP: its CSRF field, its rate limits, its
templates (Jinja2, autoescaped) and its security headers. ``services/review/public.py`` serves them.

The form needs no cookie: its hidden ``csrf`` field is ``<issued>.<HMAC-SHA256(TDKT_SECRET_KEY,
"objection:<nomination id>:<issued>")>``, good for ``CSRF_SECONDS`` after the page was shown, and a POST
the browser marks ``Sec-Fetch-Site: cross-site`` is refused whatever it carries.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.contract.awards import AWARD_NAMES

CSRF_SECONDS = 2 * 3600
MAX_BODY = 16 * 1024  # bytes of a posted form; more is 413
TEMPLATES = Path(__file__).parent / "templates"
HEADERS = [("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                       "frame-ancestors 'none'; base-uri 'none'"),
           ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
           ("Cache-Control", "no-store")]


def csrf_field(key: str, nomination_id: str, now: float | None = None) -> str:
    issued = str(int(time.time() if now is None else now))
    return f"{issued}.{_mac(key, nomination_id, issued)}"


def csrf_ok(key: str, nomination_id: str, value: str, now: float | None = None) -> bool:
    issued, _, mac = str(value).partition(".")
    if not issued.isdigit() or not mac:
        return False
    age = (time.time() if now is None else now) - int(issued)
    return 0 <= age <= CSRF_SECONDS and hmac.compare_digest(mac, _mac(key, nomination_id, issued))


def _mac(key: str, nomination_id: str, issued: str) -> str:
    return hmac.new(key.encode(), f"objection:{nomination_id}:{issued}".encode(), hashlib.sha256).hexdigest()


class RateLimit:
    """A token bucket per client address: ``burst`` requests at once, then ``per_minute``. At most
    ``addresses`` are remembered (the longest unseen forgotten first), so memory stays bounded."""

    def __init__(self, per_minute: float, burst: int, addresses: int = 10_000, clock=time.monotonic):
        self.rate, self.burst, self.addresses, self.clock = per_minute / 60.0, burst, addresses, clock
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, address: str) -> bool:
        now = self.clock()
        tokens, seen = self.buckets.pop(address, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - seen) * self.rate)
        allowed = tokens >= 1.0
        self.buckets[address] = (tokens - 1.0 if allowed else tokens, now)
        while len(self.buckets) > self.addresses:
            self.buckets.popitem(last=False)
        return allowed

    def retry_after(self) -> int:
        return max(1, int(1 / self.rate + 0.999)) if self.rate else 60


_ENV = None


def render(template: str, **context) -> bytes:
    global _ENV  # built once, on first use (nothing at import time)
    if _ENV is None:
        _ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    return _ENV.get_template(template).render(award_names=AWARD_NAMES, **context).encode("utf-8")
