"""Review's tables.

Secret ballot (bỏ phiếu kín): ``roster`` records who took part in a sitting; the marks exist only as
counters on ``agenda`` rows, incremented in place, so nothing in the database links a member to a
choice. The counters are read only once the sitting has closed.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

cases = sa.Table(
    "cases", metadata,
    sa.Column("nomination_id", sa.String(64), primary_key=True),
    sa.Column("unit_id", sa.String(64), nullable=False, index=True),
    sa.Column("award_code", sa.String(16), nullable=False),
    sa.Column("award_year", sa.Integer, nullable=False),
    sa.Column("nominee", sa.JSON, nullable=False),
    sa.Column("contact_email", sa.String(254), nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("rule_set", sa.String(32), nullable=True),
    sa.Column("sitting_id", sa.String(64), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("decided_at", TS, nullable=True),
    sa.Column("revision", sa.Integer, nullable=True),  # the dossier revision this case holds
    sa.Column("considered", sa.Boolean, nullable=True),  # put on an agenda since its last (re)submission
    sa.Column("dossier", sa.JSON, nullable=True),  # what the ballot page shows (review_0005)
    sa.Column("register_notes", sa.JSON, nullable=True),  # intake's register check, shown to the council
    sa.Column("decision", sa.JSON, nullable=True),  # the head's decision that made the approval an award
    sa.Column("achievements", sa.Text, nullable=True),  # the unit's summary, shown on the public comment list
    sa.Column("comment_until", TS, nullable=True),  # end of its public comment period (NĐ 98 Art. 46)
    sa.Column("comment_from", TS, nullable=True),  # when that period opened (review_0012; none before it)
    sa.Index("ix_cases_stage_state", "stage", "state"),
)

objections = sa.Table(  # public comment (NĐ 98 Art. 46): never shown publicly
    "objections", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("nomination_id", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("contact", sa.String(254), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),  # web | paper
    sa.Column("received_at", TS, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open | resolved | upheld
    sa.Column("handling", sa.Text, nullable=True),
    sa.Column("handled_at", TS, nullable=True),
)

early_events = sa.Table(  # an amendment or withdrawal handled before its nomination's submission
    "early_events", metadata,
    sa.Column("nomination_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("revision", sa.Integer, nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
)

units = sa.Table(
    "units", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("parent", sa.String(64), nullable=True),
)

councils = sa.Table(
    "councils", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("unit_id", sa.String(64), nullable=False),
)

members = sa.Table(
    "members", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("council_id", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

sittings = sa.Table(
    "sittings", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("council_id", sa.String(64), nullable=False, index=True),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),  # open, awaiting_tie_break, closed
    sa.Column("members_total", sa.Integer, nullable=False),
    sa.Column("deadline", TS, nullable=False),
    sa.Column("convened_at", TS, nullable=False),
    sa.Column("closed_at", TS, nullable=True),
    sa.Column("quorum_met", sa.Boolean, nullable=True),
    sa.Column("pending_ties", sa.JSON, nullable=True),
    sa.Column("chair_choices", sa.JSON, nullable=True),
    sa.Column("public_key", sa.String(64), nullable=True),  # clients seal ballots to it
    sa.Column("ballot_key", sa.LargeBinary, nullable=True),  # private key, encrypted; NULL once voting ends
    sa.Index("ix_sittings_status_deadline", "status", "deadline"),
)

roster = sa.Table(  # who took part: never what they chose
    "roster", metadata,
    sa.Column("sitting_id", sa.String(64), primary_key=True),
    sa.Column("member_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("voted", sa.Boolean, nullable=False),
    sa.Column("written_opinion", sa.Boolean, nullable=False),
    sa.Column("token_digest", sa.String(64), nullable=True),  # HMAC of the ballot token, never the token
    sa.Index("ix_roster_token_digest", "token_digest", unique=True),
)

receipts = sa.Table(  # the receipt of each ballot counted: no member, no time, no order of casting
    "receipts", metadata,
    sa.Column("sitting_id", sa.String(64), primary_key=True),
    sa.Column("code", sa.String(19), primary_key=True),
    sa.Column("sealed", sa.Text, nullable=True),  # the sealed ballot until voting ends and it is counted
)

agenda = sa.Table(  # the marks, as counters only
    "agenda", metadata,
    sa.Column("sitting_id", sa.String(64), primary_key=True),
    sa.Column("nomination_id", sa.String(64), primary_key=True),
    sa.Column("award_code", sa.String(16), nullable=False),
    sa.Column("award_year", sa.Integer, nullable=True),  # the year voted on: a later amendment does not move it
    sa.Column("approve", sa.Integer, nullable=False),
    sa.Column("reject", sa.Integer, nullable=False),
    sa.Column("abstain", sa.Integer, nullable=False),
    sa.Column("required", sa.Integer, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("reasons", sa.JSON, nullable=True),
)

quotas = sa.Table(
    "quotas", metadata,
    sa.Column("council_id", sa.String(64), primary_key=True),
    sa.Column("award_code", sa.String(16), primary_key=True),
    sa.Column("award_year", sa.Integer, primary_key=True),
    sa.Column("places", sa.Integer, nullable=False),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("sitting_id", sa.String(64), nullable=True),
    sa.Column("detail", sa.String(500), nullable=False),
)

document_jobs = sa.Table(  # a closed sitting's documents to render: pending -> done | failed (still retried, slowly)
    "document_jobs", metadata,
    sa.Column("sitting_id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("requested_at", TS, nullable=False),
    sa.Column("done_at", TS, nullable=True),
    sa.Column("kinds", sa.JSON, nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Index("ix_document_jobs_status_next", "status", "next_attempt_at"),
)

documents = sa.Table(  # the rendered files, one row per kind and format
    "documents", metadata,
    sa.Column("sitting_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("fmt", sa.String(8), primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
)
