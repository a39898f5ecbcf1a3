"""The ballot page over HTTP (issue #14), served inside review beside ``/healthz`` on ``TDKT_HTTP_PORT``.

``BallotPage`` injects nothing; ``Observability`` mounts its WSGI application at ``/ballot`` (and its
stylesheet at ``/ballot-static``). A GET only shows the ballot; a POST from the page itself (its CSRF
field, ``Sec-Fetch-Site``) re-renders the form, shows the review step, or casts: the vote goes out as
``council.vote_cast`` like any client's, and the page then waits (at most ``WAIT_SECONDS``) for review
to count it (the roster's ``voted``) or refuse it (its audit row), reading review's own database.
Nothing here stores, logs or caches a choice; the access log is off (the URL holds the token).
"""
from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import eventlet
import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from services.review import ballot_page as page
from services.review import ballots, comment
from services.review.closing import OPEN
from services.review.models import audit
from services.review.repository import Reviews
from shared import contract
from shared.platform.client import event_publisher
from shared.platform.config import load_settings
from shared.platform.store import Store

log = logging.getLogger(__name__)
WAIT_SECONDS = 10.0
STATIC = Path(__file__).parent / "static"


class Refusal(Exception):
    def __init__(self, status: str, reason: str, ballot: dict | None = None, casting: bool = False):
        super().__init__(reason)
        self.status, self.reason, self.ballot, self.casting = status, reason, ballot, casting


class BallotPage(DependencyProvider):
    """The ballot page's WSGI application, for ``Observability`` to serve (``http_mounts``)."""

    def setup(self):
        settings = load_settings()
        # as a member's client (the broker's tdkt-council user in a deployment), else as review
        self.key, self.amqp_uri = settings.secret_key, settings.council_amqp_uri or self.container.config["AMQP_URI"]
        self.store = next(dep for dep in self.container.dependencies if isinstance(dep, Store))
        self._publish = None
        # the path members see review under (a proxy may serve it at https://portal/tdkt/ and strip /tdkt):
        # every link and form of the page stays under it, as the invitation's link does
        self.root = urlsplit(settings.public_url).path.rstrip("/")

    def http_mounts(self):
        return {"/ballot/": self.app, "/ballot-static/": self.static}

    def publish(self, payload: dict) -> None:
        if self._publish is None:
            self._publish = event_publisher(self.amqp_uri, contract.COUNCIL)
        self._publish(contract.VOTE_CAST, payload, str(uuid.uuid4()), {})

    # WSGI --------------------------------------------------------------------------------------
    def static(self, environ, start_response):
        name = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
        if name != "ballot.css":
            return _answer(start_response, "404 Not Found", b"not found", "text/plain; charset=utf-8")
        return _answer(start_response, "200 OK", (STATIC / name).read_bytes(), "text/css; charset=utf-8")

    def app(self, environ, start_response):
        lang = "en" if parse_qs(environ.get("QUERY_STRING", "")).get("lang") == ["en"] else "vi"
        token = environ.get("PATH_INFO", "")[len("/ballot/"):]
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if method == "GET" or method == "HEAD":
                body = self.show(token, lang, {}, environ)
            elif method == "POST":
                body = self.post(token, lang, environ)
            else:
                raise Refusal("405 Method Not Allowed", "method")
            return _answer(start_response, "200 OK", body)
        except Refusal as refusal:
            return _answer(start_response, refusal.status,
                           self.message(refusal.reason, lang, token, refusal.ballot, casting=refusal.casting))
        except Exception:
            log.exception("ballot page: request failed")  # never the path: it holds the token
            return _answer(start_response, "500 Internal Server Error", self.message("failed", lang, token))

    # the ballot --------------------------------------------------------------------------------
    def ballot(self, token: str, lang: str, dossiers: bool = True) -> dict:
        """The sitting, member and agenda (``ids``; with ``dossiers``, the ``items`` to show) of a genuine
        token; ``Refusal`` otherwise. Casting needs no dossier: 15 members casting at once stay light."""
        now = datetime.now(timezone.utc)
        with Session(self.store.engine) as session:
            repo = Reviews(session)
            try:
                sitting_id, member_id = ballots.verify(self.key, token, lambda digest: repo.ballot_of(digest, now))
            except ballots.BadToken as bad:
                raise Refusal("410 Gone" if bad.reason == "expired" else "403 Forbidden",
                              page.REFUSALS[bad.reason]) from None
            sitting = repo.sitting(sitting_id)
            member = sitting and next((m for m in repo.roster_of(sitting_id) if m["member_id"] == member_id), None)
            if not member:
                raise Refusal("403 Forbidden", "foreign")
            council = repo.council(sitting["council_id"]) or {"name": sitting["council_id"]}
            ballot = {"sitting": sitting, "member": member, "council_name": council["name"]}
            if member["voted"]:
                raise Refusal("409 Conflict", "already_voted", ballot)
            if sitting["status"] != OPEN:
                raise Refusal("409 Conflict", "sitting_closed", ballot)
            agenda = repo.agenda_of(sitting_id)
            ids = [row["nomination_id"] for row in agenda]
            if not dossiers:
                return {**ballot, "ids": ids}
            cases = repo.cases_by_id(ids)
            names = repo.unit_names({case["unit_id"] for case in cases.values()})
            notes = comment.agenda_comments(session, cases.values())
        items = [page.agenda_item(cases[row["nomination_id"]], names.get(cases[row["nomination_id"]]["unit_id"]), lang,
                                  notes.get(row["nomination_id"]))
                 for row in agenda if row["nomination_id"] in cases]
        return {**ballot, "ids": ids, "items": items}

    def context(self, token: str, lang: str, ballot: dict) -> dict:
        sitting = ballot["sitting"]
        suffix = "?lang=en" if lang == "en" else ""
        return {"lang": lang, "council_name": ballot["council_name"],
                "sitting_date": page.vietnam_date(sitting["convened_at"], with_time=False),
                "deadline": page.vietnam_date(sitting["deadline"]),
                "members": sitting["members_total"],
                "action": f"{self.root}/ballot/{quote(token)}{suffix}", "csrf": page.csrf_field(self.key, token),
                "switch_url": f"{self.root}/ballot/{quote(token)}" + ("" if lang == "en" else "?lang=en")}

    def show(self, token, lang, form, environ, missing=()) -> bytes:
        ballot = self.ballot(token, lang)
        ids = [item["nomination_id"] for item in ballot["items"]]
        choices = page.read_choices(form, ids)
        query = str(form.get("q", ""))[:200]
        action = str(form.get("action", ""))
        groups = page.groups(ballot["items"], query)
        if action.startswith("group:"):  # approve all remaining in this group
            choices = page.approve_rest(groups, action[len("group:"):], choices)
        return self.render("ballot.html.j2", **self.context(token, lang, ballot), groups=groups, choices=choices,
                           query=query, total=len(ids), missing=list(missing),
                           written_opinion=form.get("written_opinion") == "1")

    def post(self, token: str, lang: str, environ) -> bytes:
        form = _read_form(environ)
        if not page.genuine_post(self.key, token, form, environ.get("HTTP_SEC_FETCH_SITE")):
            raise Refusal("403 Forbidden", "forbidden")
        action = form.get("action", "")
        if action not in ("review", "cast"):
            return self.show(token, lang, form, environ)
        ballot = self.ballot(token, lang, dossiers=action == "review")
        ids = ballot["ids"]
        choices = page.read_choices(form, ids)
        if len(choices) != len(ids):
            return self.show(token, lang, form, environ, [nid for nid in ids if nid not in choices])
        written = form.get("written_opinion") == "1"
        if action == "review":
            return self.render("confirm.html.j2", **{**self.context(token, lang, ballot), "switch_url": None},
                               groups=page.groups(ballot["items"]), choices=choices,
                               query=str(form.get("q", ""))[:200], written_opinion=written)
        return self.cast(token, lang, ballot, choices, written)

    def cast(self, token, lang, ballot, choices, written) -> bytes:
        sitting_id, member_id = ballot["sitting"]["id"], ballot["member"]["member_id"]
        with Session(self.store.engine) as session:
            last_audit = session.execute(sa.select(sa.func.max(audit.c.id))).scalar() or 0
        vote = page.build_vote(token, choices, written, ballot["sitting"].get("public_key"))
        receipt = page.receipt_of(vote)
        self.publish(vote)
        outcome = self.wait(sitting_id, member_id, ballots.fingerprint(token), last_audit, receipt)
        if outcome == "recorded":
            return self.message("recorded", lang, token, ballot, ok=True, receipt=receipt)
        if outcome is None:
            return self.message("pending", lang, token, ballot, ok=True)
        raise Refusal("409 Conflict", page.REFUSALS.get(outcome, "foreign"), ballot, casting=True)

    def wait(self, sitting_id, member_id, digest, after_audit, receipt=None) -> str | None:
        """``recorded``, review's reason for refusing the vote, or None if review said nothing in time.

        A sealed vote is recorded when its own ``receipt`` is among the sitting's: the member's roster row
        says only that *a* ballot of theirs was counted, perhaps another one (a second tap on the button,
        a second tab) while this one is refused as already voted, and its receipt is never published."""
        deadline = time.monotonic() + WAIT_SECONDS
        marker = f"member={member_id} token={digest}"
        while time.monotonic() < deadline:
            with Session(self.store.engine) as session:
                repo = Reviews(session)
                if receipt is not None:
                    if repo.has_receipt(sitting_id, receipt):
                        return "recorded"
                elif any(m["member_id"] == member_id and m["voted"] for m in repo.roster_of(sitting_id)):
                    return "recorded"
                refused = session.execute(sa.select(audit.c.detail).where(
                    audit.c.id > after_audit, audit.c.sitting_id == sitting_id,
                    audit.c.detail.endswith(marker))).scalars().first()
            if refused:
                return refused.split(" ", 1)[0]
            eventlet.sleep(0.1)
        return None

    def render(self, template: str, **context) -> bytes:
        return page.render(template, root=self.root, **context)

    def message(self, reason: str, lang: str, token: str, ballot=None, ok=False, casting=False,
                receipt=None) -> bytes:
        t = page.TEXT[lang]
        sitting = ballot["sitting"] if ballot else None
        again = (f"{self.root}/ballot/{quote(token)}" + ("?lang=en" if lang == "en" else "")
                 if reason == "agenda_changed" else None)
        heading = {"recorded": t["recorded"], "pending": t["pending"]}.get(reason, t["refused"] if casting else t["title"])
        lines = [t["recorded_note"]] if reason == "recorded" else ([] if reason == "pending" else [t[reason]])
        if receipt:
            lines.append(t["receipt"].format(code=receipt))
        return self.render("message.html.j2", lang=lang, heading=heading, lines=lines, tone="ok" if ok else "bad",
                           council=ballot["council_name"] if ballot else None,
                           sitting_date=page.vietnam_date(sitting["convened_at"], False) if sitting else None,
                           again_url=again, switch_url=None)


def _read_form(environ) -> dict:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0 or length > page.MAX_BODY:
        raise Refusal("413 Content Too Large", "too_large")
    raw = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    try:
        return {key: values[0] for key, values in parse_qs(raw, max_num_fields=page.MAX_FIELDS).items()}
    except ValueError:
        raise Refusal("413 Content Too Large", "too_large") from None


def _answer(start_response, status: str, body: bytes, content_type="text/html; charset=utf-8"):
    start_response(status, [*page.headers(content_type), ("Content-Length", str(len(body)))])
    return [body]
