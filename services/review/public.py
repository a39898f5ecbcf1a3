"""The public comment page over HTTP (issue #18), served inside review beside ``/healthz`` on
``TDKT_HTTP_PORT`` (``Observability`` mounts ``http_mounts()``).

- ``GET /public/comment``: the nominations under public comment (nominee, unit, award, a summary of
  achievements, the end of the period); ``GET /public/comment.json``: the same as a JSON feed;
- ``GET /public/comment/<id>``: one of them with the objection form (plain HTML, no script);
- ``POST /public/comment/<id>``: files an objection (name, contact, text), stored with when and how it came.

Never shown: contact details, documents, objections. Abuse limits: a token bucket per client address
(pages and posts apart), a form over ``MAX_BODY`` is 413, every text is autoescaped, and the form carries
a cookie-less HMAC field (``public_page.csrf_ok``). Behind a reverse proxy every client has the proxy's
address: limit there too.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from urllib.parse import parse_qs

from nameko.extensions import DependencyProvider

from services.review import comment, public_page as page
from services.review.calendar import VIETNAM
from shared.contract import schemas
from shared.contract.errors import Conflict, ValidationError
from shared.platform.config import load_settings
from shared.platform.store import Store, UnitOfWork

log = logging.getLogger(__name__)
PREFIX = "/public/comment"


class Answer(Exception):
    def __init__(self, status: str, heading: str, lines=(), headers=()):
        super().__init__(heading)
        self.status, self.heading, self.lines, self.headers = status, heading, list(lines), list(headers)


class PublicCommentPage(DependencyProvider):
    """The public comment page's WSGI application, for ``Observability`` to serve (``http_mounts``)."""

    def setup(self):
        self.key = load_settings().secret_key
        self.store = next(dep for dep in self.container.dependencies if isinstance(dep, Store))
        self.pages = page.RateLimit(per_minute=60, burst=60)
        self.posts = page.RateLimit(per_minute=6, burst=5)

    def http_mounts(self):
        return {PREFIX: self.app}

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.store.sessions(), "public_comment", None, {}, lambda names: None)

    def app(self, environ, start_response):
        return serve(self, environ, start_response)


def serve(site, environ, start_response, now: datetime | None = None):
    """One request to ``site`` (a :class:`PublicCommentPage`, or a test's stand-in with the same parts)."""
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    address = environ.get("REMOTE_ADDR", "?")
    now = now or datetime.now(timezone.utc)
    try:
        limit = site.posts if method == "POST" else site.pages
        if not limit.allow(address):
            raise Answer("429 Too Many Requests", "Quá nhiều yêu cầu / Too many requests",
                         ["Xin thử lại sau. / Please try again later."], [("Retry-After", str(limit.retry_after()))])
        if path == PREFIX + ".json" and method in ("GET", "HEAD"):
            return _send(start_response, "200 OK", json.dumps({"items": _items(site, now)}, ensure_ascii=False)
                         .encode("utf-8"), "application/json; charset=utf-8")
        if path in (PREFIX, PREFIX + "/") and method in ("GET", "HEAD"):
            return _send(start_response, "200 OK", page.render("public_list.html.j2", items=_items(site, now)))
        nomination_id = path[len(PREFIX) + 1:] if path.startswith(PREFIX + "/") else ""
        item = next((i for i in _items(site, now) if i["nomination_id"] == nomination_id), None)
        if item is None:
            raise Answer("404 Not Found", "Không có trường hợp này đang lấy ý kiến / Not open for comment")
        if method in ("GET", "HEAD"):
            return _send(start_response, "200 OK", _form(site, item, {}, {}))
        if method != "POST":
            raise Answer("405 Method Not Allowed", "Phương thức không được hỗ trợ / Method not allowed",
                         headers=[("Allow", "GET, POST")])
        return _post(site, item, environ, start_response, now)
    except Answer as answer:
        body = page.render("public_message.html.j2", heading=answer.heading, lines=answer.lines)
        return _send(start_response, answer.status, body, headers=answer.headers)
    except Exception:
        log.exception("public comment page: request failed")
        return _send(start_response, "500 Internal Server Error", b"", "text/plain; charset=utf-8")


def _items(site, now) -> list[dict]:
    uow = site.uow()
    try:
        items = comment.public_list(uow.session, now)
    finally:
        uow.close()
    for item in items:
        until = datetime.fromisoformat(item["comment_until"]).astimezone(VIETNAM)
        item["until_local"] = until.strftime("%H:%M %d/%m/%Y")
    return items


def _form(site, item, form, errors) -> bytes:
    return page.render("public_item.html.j2", item=item, form=form, errors=errors,
                       csrf=page.csrf_field(site.key, item["nomination_id"]))


def _post(site, item, environ, start_response, now):
    form = _read_form(environ)
    if environ.get("HTTP_SEC_FETCH_SITE") == "cross-site" or not page.csrf_ok(
            site.key, item["nomination_id"], form.get("csrf", "")):
        raise Answer("403 Forbidden", "Biểu mẫu đã hết hạn hoặc không hợp lệ / The form is stale or forged",
                     ["Hãy mở lại trang và gửi lại. / Open the page again and resend."])
    fields = {key: form.get(key, "") for key in ("name", "contact", "text")}
    try:
        objection = schemas.load(schemas.Objection, {**fields, "nomination_id": item["nomination_id"]})
        comment.file_objection(objection, "web", site.uow(), now)
    except ValidationError as invalid:
        return _send(start_response, "400 Bad Request", _form(site, item, fields, invalid.args[0]
                                                              if invalid.args and isinstance(invalid.args[0], dict)
                                                              else {"form": [str(invalid)]}))
    except Conflict as closed:
        raise Answer("409 Conflict", "Không nhận được ý kiến / Not received", [str(closed)]) from None
    return _send(start_response, "200 OK", page.render(
        "public_message.html.j2", heading="Đã nhận ý kiến / Objection received",
        lines=["Ý kiến của bạn đã được ghi nhận và sẽ được báo cáo Hội đồng. / It is recorded and will go "
               "to the council."]))


def _read_form(environ) -> dict:
    length = environ.get("CONTENT_LENGTH") or ""
    if not length.isdigit():
        raise Answer("411 Length Required", "Thiếu độ dài nội dung / Length required")
    if int(length) > page.MAX_BODY:
        raise Answer("413 Payload Too Large", "Nội dung quá dài / Too large",
                     [f"Tối đa {page.MAX_BODY // 1024} KiB. / At most {page.MAX_BODY // 1024} KiB."])
    raw = environ["wsgi.input"].read(int(length))
    try:
        parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise Answer("400 Bad Request", "Biểu mẫu không đọc được / Unreadable form") from None
    return {key: values[0] for key, values in parsed.items()}


def _send(start_response, status, body: bytes, content_type="text/html; charset=utf-8", headers=()):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            *page.HEADERS, *headers])
    return [body]
