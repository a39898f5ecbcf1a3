"""Payload schemas of the RPC methods and events (marshmallow 4), one definition for both sides.

Unknown fields are rejected (marshmallow's default ``RAISE``) and every string has a length limit, so a
payload that passes here is bounded. ``load(schema, data)`` turns marshmallow's errors into the wire
error ``ValidationError`` carrying every field error at once.

Identity rules (README "Identity rules"), applied here once, at the edge, before any check: every text
is Unicode NFC and trimmed; employee ids and initiative ids are compared without regard to case and
kept in capitals (``CaselessId``); every pattern matches the whole value (``\Z``, never ``$``, which
lets a trailing newline through). So what passes here fits its column.
"""
import functools
import json
import unicodedata
from collections import Counter

from marshmallow import Schema as BaseSchema, ValidationError as SchemaError, fields, pre_load, validate
from marshmallow import validates_schema

from shared import errors
from shared.awards import AWARD_CODES, DOCUMENT_KINDS


def normalised(value):
    """Every text in ``value`` (a payload) in Unicode NFC and without surrounding white space: one
    spelling for what a reader sees as the same text. Mapping keys are left as they are."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    if isinstance(value, dict):
        return {key: normalised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    return value


class Schema(BaseSchema):
    """Every payload schema: its texts are normalised (``normalised``) before they are validated."""

    @pre_load
    def normalise_texts(self, data, **kwargs):
        return normalised(data)


def single_line(max_length: int):
    """A non-empty text of at most ``max_length`` characters without control characters."""
    return validate.And(validate.Length(min=1, max=max_length),
                        validate.Regexp(r"[^\x00-\x1f\x7f]*\Z", error="must not contain control characters"))


NAME = single_line(200)
ID = validate.Regexp(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\Z", error="must be 1-64 letters, digits or _.:-")
SHA256 = validate.Regexp(r"[0-9a-f]{64}\Z", error="must be 64 lowercase hex digits")
RATINGS = ("HTXSNV", "HTTNV", "HTNV", "KHTNV")
SCOPES = ("co_so", "bo", "toan_quoc")
YEAR = validate.Range(min=1990, max=2100)
REVISION = validate.Range(min=1, max=1_000_000)  # a dossier's revision: 1 when submitted, +1 per amendment
STATUSES = ("submitted", "in_review", "returned", "approved", "proposed", "rejected", "withdrawn")
OUTCOMES = ("approved", "proposed", "rejected")
MAX_PAYLOAD_BYTES = 256 * 1024  # a nomination with its history and document list fits in a few KiB
MAX_AGENDA = 5000  # items one sitting may take (a ministry council takes about a tenth of a year's work)
MAX_BALLOT_BYTES = 4 * 1024 * 1024  # a ballot or a vote of MAX_AGENDA items
MAX_SITTING_BYTES = 16 * 1024 * 1024  # a closed sitting's results for MAX_AGENDA items, with reasons


class CaselessId(fields.String):
    """An id the law reads without regard to case (an employee's, an initiative's): checked as ``ID``,
    then kept in capitals, so ``vp-0042`` and ``VP-0042`` are one person."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        ID(value)
        return value.upper()


def revision_field():
    """The dossier's revision in intake's events (1 when submitted, one more per amendment; a
    withdrawal carries the revision it withdraws); absent from events published before it was carried."""
    return fields.Integer(allow_none=True, strict=True, validate=REVISION)


def Email(**kwargs):
    return fields.Email(validate=validate.Length(max=254), **kwargs)


class Individual(Schema):
    kind = fields.String(required=True, validate=validate.Equal("individual"))
    full_name = fields.String(required=True, validate=NAME)
    employee_id = CaselessId(required=True)
    gender = fields.String(required=True, validate=validate.OneOf(("female", "male")))
    email = Email(load_default=None, allow_none=True)
    direct_worker = fields.Boolean(load_default=False)


class Collective(Schema):
    kind = fields.String(required=True, validate=validate.Equal("collective"))
    name = fields.String(required=True, validate=NAME)
    email = Email(load_default=None, allow_none=True)
    members_total = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000))
    members_female = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    members_ldtt = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    members_completed = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    members_cstdcs = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    members_disciplined = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))

    @validates_schema
    def counts_fit_the_total(self, data, **kwargs):
        too_many = {key: ["cannot exceed members_total"] for key in
                    ("members_female", "members_ldtt", "members_completed", "members_cstdcs",
                     "members_disciplined") if data.get(key, 0) > data["members_total"]}
        if too_many:
            raise SchemaError(too_many)


class Nominee(fields.Field):
    """An individual or a collective, chosen by ``kind``."""

    schemas = {"individual": Individual, "collective": Collective}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise SchemaError("must be an object")
        kind = value.get("kind")
        schema = self.schemas.get(kind) if isinstance(kind, str) else None
        if schema is None:
            raise SchemaError({"kind": ["must be individual or collective"]})
        return schema().load(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class Initiative(Schema):
    id = CaselessId(required=True)
    title = fields.String(required=True, validate=single_line(500))
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))


class HistoryYear(Schema):
    year = fields.Integer(required=True, strict=True, validate=YEAR)
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    titles = fields.List(fields.String(validate=validate.OneOf(AWARD_CODES)), load_default=list,
                         validate=validate.Length(max=20))
    # titles of this year that were ad-hoc or campaign awards: they never count toward merit prerequisites
    adhoc_titles = fields.List(fields.String(validate=validate.OneOf(AWARD_CODES)), load_default=list,
                               validate=validate.Length(max=20))
    initiatives = fields.List(fields.Nested(Initiative), load_default=list, validate=validate.Length(max=20))
    disciplined = fields.Boolean(load_default=False)


class Document(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))
    filename = fields.String(required=True, validate=single_line(255))
    sha256 = fields.String(required=True, validate=SHA256)
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=50 * 1024 * 1024))


class NominationSchema(Schema):
    """``intake.submit_nomination(nomination)``."""

    submission_key = fields.String(required=True, validate=ID)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    nominee = Nominee(required=True)
    achievements = fields.String(load_default="", validate=validate.Length(max=20_000))
    history = fields.List(fields.Nested(HistoryYear), load_default=list, validate=validate.Length(max=40))
    under_review = fields.Boolean(load_default=False)
    documents = fields.List(fields.Nested(Document), load_default=list, validate=validate.Length(max=30))
    contact_email = Email(required=True)

    @validates_schema
    def history_is_one_row_per_past_year(self, data, **kwargs):
        years = [row["year"] for row in data.get("history", [])]
        if len(years) != len(set(years)):
            raise SchemaError({"history": ["has more than one row for a year"]})
        if any(year > data["award_year"] for year in years):
            raise SchemaError({"history": ["has a row after the award year"]})

    @validates_schema
    def each_initiative_is_listed_once(self, data, **kwargs):
        """One achievement, one award (NĐ 98 Art. 4): an initiative is recognised once."""
        ids = Counter(i["id"] for row in data.get("history", []) for i in row.get("initiatives", []))
        if repeated := sorted(i for i, count in ids.items() if count > 1):
            raise SchemaError({"history": [f"lists initiative {', '.join(repeated)} more than once"]})


class NominationChanges(NominationSchema):
    """``intake.amend_nomination(nomination_id, changes)``: any fields but the key, replaced whole."""

    class Meta:
        exclude = ("submission_key",)

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)

    @validates_schema
    def history_is_one_row_per_past_year(self, data, **kwargs):
        pass  # checked on the merged nomination

    @validates_schema
    def each_initiative_is_listed_once(self, data, **kwargs):
        pass  # checked on the merged nomination


class ListFilters(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    award_year = fields.Integer(strict=True, validate=YEAR)
    award_code = fields.String(validate=validate.OneOf(AWARD_CODES))
    page = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(strict=True, load_default=50, validate=validate.Range(min=1, max=200))


class NomineeSummary(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("individual", "collective")))
    name = fields.String(required=True, validate=NAME)
    email = Email(load_default=None, allow_none=True)
    gender = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("female", "male")))
    direct_worker = fields.Boolean(load_default=False)
    members_total = fields.Integer(load_default=None, allow_none=True, strict=True)
    members_female = fields.Integer(load_default=None, allow_none=True, strict=True)


class NominationSubmitted(Schema):
    """Event ``intake.nomination_submitted``: what review and notify need, without a call back."""

    nomination_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    nominee = fields.Nested(NomineeSummary, required=True)
    contact_email = Email(required=True)
    submitted_at = fields.String(required=True, validate=validate.Length(max=40))
    rule_set = fields.String(load_default=None, allow_none=True, validate=validate.And(ID, validate.Length(max=32)))
    revision = revision_field()  # absent: an older sender


class NominationAmended(NominationSubmitted):
    """Event ``intake.nomination_amended``: the nomination as it now stands."""

    resubmitted = fields.Boolean(load_default=False)  # True when a returned dossier goes back to review


class NominationWithdrawn(Schema):
    nomination_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    revision = revision_field()


class WithdrawReason(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class Tally(Schema):
    approve = fields.Integer(required=True, strict=True)
    reject = fields.Integer(required=True, strict=True)
    abstain = fields.Integer(required=True, strict=True)
    members = fields.Integer(required=True, strict=True)
    required = fields.Integer(required=True, strict=True)


class ReviewOutcome(Schema):
    """Events ``review.nomination_advanced``, ``nomination_decided`` and ``nomination_returned``."""

    nomination_id = fields.String(required=True, validate=ID)
    stage = fields.String(required=True, validate=validate.Length(max=32))
    outcome = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(OUTCOMES))
    tally = fields.Nested(Tally, load_default=None, allow_none=True)
    reasons = fields.List(fields.String(validate=validate.Length(max=2000)), load_default=list,
                          validate=validate.Length(max=50))
    unit_id = fields.String(load_default=None, allow_none=True, validate=ID)
    contact_email = Email(load_default=None, allow_none=True)
    nominee_email = Email(load_default=None, allow_none=True)
    sitting_id = fields.String(load_default=None, allow_none=True, validate=ID)
    decided_at = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    # what was voted on (issue #21): intake records the outcome on that award, year and revision
    award_code = fields.String(allow_none=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(allow_none=True, strict=True, validate=YEAR)
    revision = fields.Integer(allow_none=True, strict=True, validate=REVISION)


class NominationOnAgenda(Schema):
    """Event ``review.nomination_on_agenda``: a council put this revision of the dossier on a sitting."""

    nomination_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    sitting_id = fields.String(required=True, validate=ID)
    council_id = fields.String(required=True, validate=ID)
    stage = fields.String(required=True, validate=validate.Length(max=32))
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    revision = fields.Integer(load_default=None, allow_none=True, strict=True, validate=REVISION)


class AmendmentRefused(Schema):
    """Event ``review.amendment_refused``: amendment ``revision`` came after the council took
    ``considered_revision`` (of ``award_code`` / ``award_year``); it is not considered."""

    nomination_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    revision = fields.Integer(required=True, strict=True, validate=REVISION)
    considered_revision = fields.Integer(required=True, strict=True, validate=REVISION)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    stage = fields.String(required=True, validate=validate.Length(max=32))
    state = fields.String(required=True, validate=validate.Length(max=24))
    sitting_id = fields.String(load_default=None, allow_none=True, validate=ID)
    reasons = fields.List(fields.String(validate=validate.Length(max=2000)), load_default=list,
                          validate=validate.Length(max=50))


@functools.lru_cache(maxsize=None)
def _instance(schema_class: type[Schema]) -> Schema:
    return schema_class()


def load(schema: Schema | type[Schema], data, max_bytes: int = MAX_PAYLOAD_BYTES):
    """Validate ``data`` with ``schema`` (a class: its one shared instance, as building a schema copies
    every field); raise the wire ``ValidationError`` with every field error."""
    if isinstance(schema, type):
        schema = _instance(schema)
    if not isinstance(data, dict):
        raise errors.ValidationError({"_schema": ["must be an object"]})
    # surrogatepass: a lone surrogate (JSON may carry "\ud800") is measured, not an encoding error
    if len(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")) > max_bytes:
        raise errors.ValidationError({"_schema": [f"payload is larger than {max_bytes // 1024} KiB"]})
    try:
        return schema.load(data)
    except SchemaError as exc:
        raise errors.ValidationError(exc.normalized_messages()) from None


class VoteCast(Schema):
    """Event ``council.vote_cast``. Choice values are checked by review (an unknown one is a
    ``vote_rejected``, not a malformed event)."""

    # any string, even empty or huge (bounded by the payload's size): review answers a bad one with
    # vote_rejected and an audit row instead of dead-lettering the event
    ballot_token = fields.String(required=True)
    choices = fields.Dict(keys=fields.String(validate=ID), values=fields.String(validate=validate.Length(max=16)),
                          required=True, validate=validate.Length(max=MAX_AGENDA))
    written_opinion = fields.Boolean(load_default=False)


class DirectoryUnit(Schema):
    id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    email = Email(load_default=None, allow_none=True)
    parent = fields.String(load_default=None, allow_none=True, validate=ID)


class DirectoryMember(Schema):
    id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    email = Email(required=True)
    role = fields.String(required=True, validate=validate.OneOf(("chair", "vice_chair", "member")))


class DirectoryCouncil(Schema):
    id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    level = fields.String(required=True, validate=validate.OneOf(("unit", "ministry")))
    unit = fields.String(required=True, validate=ID)
    members = fields.List(fields.Nested(DirectoryMember), required=True,
                          validate=validate.Length(min=1, max=100))


class Directory(Schema):
    """``tdkt directory load FILE.yml`` (contract.md)."""

    units = fields.List(fields.Nested(DirectoryUnit), load_default=list, validate=validate.Length(max=5000))
    councils = fields.List(fields.Nested(DirectoryCouncil), load_default=list, validate=validate.Length(max=5000))


class ReturnReasons(Schema):
    reasons = fields.List(fields.String(validate=validate.Length(min=1, max=2000)), required=True,
                          validate=validate.Length(min=1, max=20))


class TieDecision(Schema):
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    nomination_ids = fields.List(fields.String(validate=ID), required=True, validate=validate.Length(min=1, max=100))


class AwardYear(Schema):
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)


class QuotaSetting(Schema):
    """``review.set_quota``: at most ``places`` of an award a council may pass in a year."""

    council_id = fields.String(required=True, validate=ID)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    places = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100_000))


class AgendaItem(Schema):
    nomination_id = fields.String(required=True, validate=ID)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    nominee_name = fields.String(required=True, validate=NAME)
    unit_id = fields.String(required=True, validate=ID)


class Member(Schema):
    id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    email = Email(required=True)


class BallotIssued(Schema):
    """Event ``review.ballot_issued`` (contract.md): one per member of a sitting."""

    sitting_id = fields.String(required=True, validate=ID)
    council_id = fields.String(required=True, validate=ID)
    member = fields.Nested(Member, required=True)
    ballot_token = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    deadline = fields.String(required=True, validate=validate.Length(max=40))
    agenda = fields.List(fields.Nested(AgendaItem), required=True, validate=validate.Length(max=MAX_AGENDA))


class VoteCounted(Schema):
    sitting_id = fields.String(required=True, validate=ID)
    member_id = fields.String(required=True, validate=ID)


class SittingClosed(Schema):
    """Event ``review.sitting_closed``: the published results for the units in scope."""

    sitting_id = fields.String(required=True, validate=ID)
    council_id = fields.String(required=True, validate=ID)
    stage = fields.String(required=True, validate=validate.Length(max=32))
    quorum_met = fields.Boolean(required=True)
    closed_at = fields.String(required=True, validate=validate.Length(max=40))
    participants = fields.Integer(required=True, strict=True)
    units = fields.List(fields.String(validate=ID), required=True, validate=validate.Length(max=5000))
    results = fields.List(fields.Dict(), required=True, validate=validate.Length(max=MAX_AGENDA))


class MailLogQuery(Schema):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("pending", "sent", "failed")))
    limit = fields.Integer(strict=True, load_default=50, validate=validate.Range(min=1, max=1000))
