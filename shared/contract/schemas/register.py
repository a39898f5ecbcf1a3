"""The award register's payloads (publisher: intake, which owns the register): the operator's decision,
closing of a proposal, import rows, queries and revocation, and the events ``nomination_awarded``,
``nomination_not_awarded``, ``register_entry_recorded`` and ``register_entry_revoked``."""
from datetime import date, datetime, timedelta, timezone

from marshmallow import fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from shared.contract.awards import AWARD_CODES, REVOCATION_GROUNDS
from shared.contract.schemas.base import CaselessId, Email, ID, NAME, REVISION, Schema, YEAR, single_line

DECISION_NUMBER = single_line(64)  # "123/QĐ-BTNMT"
VIETNAM = timezone(timedelta(hours=7))


def signed_on(day: date) -> None:
    """A signed decision's date: one that has come (in Vietnam), and not before the register's years."""
    today = datetime.now(VIETNAM).date()
    if day > today:
        raise SchemaError(f"{day.isoformat()} is after today ({today.isoformat()}): a decision is dated when "
                          "it is signed / quyết định không thể ghi ngày trong tương lai")
    if day.year < 1990:
        raise SchemaError(f"{day.isoformat()} is before 1990, the register's first year")
KINDS = ("individual", "collective")
MAX_DECISION_ITEMS = 5000  # the list attached to one decision (a sitting's agenda at most)
MAX_REGISTER_BYTES = 32 * 1024 * 1024  # an import of a ministry's past years (100,000 rows)


class RegisterNote(Schema):
    """What the register check says about one claimed title (``declared_before_register``, or a
    mismatch kept under ``TDKT_REGISTER_CHECK=warn``)."""

    code = fields.String(required=True, validate=ID)
    title = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    year = fields.Integer(required=True, strict=True, validate=YEAR)
    message = fields.String(required=True, validate=validate.Length(max=500))
    message_en = fields.String(required=True, validate=validate.Length(max=500))


class DecisionRecord(Schema):
    """``intake.record_decision``: the head's decision (quyết định khen thưởng) on approved nominations."""

    number = fields.String(required=True, validate=DECISION_NUMBER)
    date = fields.Date(required=True, validate=signed_on)
    signer = fields.String(required=True, validate=NAME)
    nomination_ids = fields.List(fields.String(validate=ID), required=True,
                                 validate=validate.Length(min=1, max=MAX_DECISION_ITEMS))

    @validates_schema
    def each_nomination_once(self, data, **kwargs):
        ids = data.get("nomination_ids", [])
        if len(ids) != len(set(ids)):
            raise SchemaError({"nomination_ids": ["lists a nomination more than once"]})


class NotAwarded(Schema):
    """``intake.close_not_awarded``: proposals the central level did not award, approvals the head will not
    decide."""

    nomination_ids = fields.List(fields.String(validate=ID), required=True,
                                 validate=validate.Length(min=1, max=MAX_DECISION_ITEMS))
    reason = fields.String(required=True, validate=single_line(2000))
    number = fields.String(load_default=None, allow_none=True, validate=DECISION_NUMBER)
    date = fields.Date(load_default=None, allow_none=True, validate=signed_on)


class RegisterRow(Schema):
    """One past award of ``intake.import_register`` (and of a ``tdkt register import`` CSV line)."""

    unit_id = fields.String(required=True, validate=ID)
    nominee_kind = fields.String(load_default="individual", validate=validate.OneOf(KINDS))
    employee_id = CaselessId(load_default=None, allow_none=True)
    nominee_name = fields.String(required=True, validate=NAME)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    decision_number = fields.String(required=True, validate=DECISION_NUMBER)
    decision_date = fields.Date(required=True, validate=signed_on)
    signer = fields.String(load_default=None, allow_none=True, validate=NAME)
    money = fields.Integer(load_default=None, allow_none=True, strict=True,
                           validate=validate.Range(min=0, max=10**10))
    email = Email(load_default=None, allow_none=True)

    @validates_schema
    def individuals_have_an_employee_id(self, data, **kwargs):
        if data.get("nominee_kind", "individual") == "individual" and not data.get("employee_id"):
            raise SchemaError({"employee_id": ["is required for an individual"]})


class RegisterImport(Schema):
    rows = fields.List(fields.Nested(RegisterRow), required=True, validate=validate.Length(min=1, max=100_000))


class RegisterQuery(Schema):
    unit_id = fields.String(required=True, validate=ID)
    employee_id = CaselessId(load_default=None, allow_none=True)
    award_year = fields.Integer(load_default=None, allow_none=True, strict=True, validate=YEAR)


class RegisterYear(Schema):
    award_year = fields.Integer(load_default=None, allow_none=True, strict=True, validate=YEAR)


class Revocation(Schema):
    """``intake.revoke_register_entry`` (Law Art. 93(2)): the deciding body cancels its decision."""

    entry_id = fields.String(required=True, validate=ID)
    ground = fields.String(required=True, validate=validate.OneOf(REVOCATION_GROUNDS))
    decision_number = fields.String(required=True, validate=DECISION_NUMBER)
    date = fields.Date(required=True, validate=signed_on)
    reason = fields.String(required=True, validate=single_line(2000))


class Decision(Schema):
    number = fields.String(required=True, validate=DECISION_NUMBER)
    date = fields.String(required=True, validate=validate.Length(max=10))
    signer = fields.String(load_default=None, allow_none=True, validate=NAME)


class RegisterEntry(Schema):
    """An entry as events carry it."""

    entry_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    nominee_kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    employee_id = fields.String(load_default=None, allow_none=True, validate=ID)
    nominee_name = fields.String(required=True, validate=NAME)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    decision = fields.Nested(Decision, required=True)
    money = fields.Integer(required=True, strict=True)
    state = fields.String(required=True, validate=validate.OneOf(("awarded", "revoked")))
    source = fields.String(required=True, validate=validate.OneOf(("decision", "import")))
    nomination_id = fields.String(load_default=None, allow_none=True, validate=ID)
    contact_email = Email(load_default=None, allow_none=True)
    nominee_email = Email(load_default=None, allow_none=True)


class NominationAwarded(Schema):
    """Event ``intake.nomination_awarded``: review marks its case, notify tells the unit and the nominee."""

    nomination_id = fields.String(required=True, validate=ID)
    entry_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    nominee_name = fields.String(required=True, validate=NAME)
    decision = fields.Nested(Decision, required=True)
    money = fields.Integer(required=True, strict=True)
    contact_email = Email(required=True)
    nominee_email = Email(load_default=None, allow_none=True)


class NominationNotAwarded(Schema):
    """Event ``intake.nomination_not_awarded``: the proposal or approval closed without an award; notify
    tells the unit and the nominee (the fields after ``reason`` came later: older events lack them)."""

    nomination_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    reason = fields.String(required=True, validate=validate.Length(max=2000))
    award_code = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(load_default=None, allow_none=True, strict=True, validate=YEAR)
    nominee_name = fields.String(load_default=None, allow_none=True, validate=NAME)
    contact_email = Email(load_default=None, allow_none=True)
    nominee_email = Email(load_default=None, allow_none=True)
    number = fields.String(load_default=None, allow_none=True, validate=DECISION_NUMBER)
    date = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=10))


class Affected(Schema):
    nomination_id = fields.String(required=True, validate=ID)
    # the first names the revoked award (review's note of the return); at most what a return carries
    reasons = fields.List(fields.String(validate=validate.Length(max=2000)), required=True,
                          validate=validate.Length(min=1, max=50))
    # the dossier revision intake re-checked (review keeps a return that comes before the submission)
    revision = fields.Integer(load_default=None, allow_none=True, strict=True, validate=REVISION)


class RegisterEntryRecorded(Schema):
    entry = fields.Nested(RegisterEntry, required=True)
    operator = fields.String(required=True, validate=validate.Length(max=64))


class RegisterEntryRevoked(Schema):
    """Event ``intake.register_entry_revoked``: the entry, the revocation, and the live nominations that
    no longer hold without it (review returns them to their unit; notify tells the unit and the person)."""

    entry = fields.Nested(RegisterEntry, required=True)
    ground = fields.String(required=True, validate=validate.OneOf(REVOCATION_GROUNDS))
    revocation = fields.Nested(Decision, required=True)
    reason = fields.String(required=True, validate=validate.Length(max=2000))
    money_to_recover = fields.Integer(required=True, strict=True)
    affected = fields.List(fields.Nested(Affected), load_default=list)
    operator = fields.String(required=True, validate=validate.Length(max=64))
