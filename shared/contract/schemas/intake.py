"""Intake's payloads: a nomination as a unit submits or amends it, the filters of its list, and the
events intake publishes (``nomination_submitted``, ``_amended``, ``_withdrawn``)."""
from collections import Counter

from marshmallow import fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from shared.contract.awards import AWARD_CODES, DOCUMENT_KINDS
from shared.contract.schemas.register import RegisterNote
from shared.contract.schemas.base import (CaselessId, Email, ID, NAME, RATINGS, SCOPES, SHA256, STATUSES, Schema,
                                         YEAR, _instance, revision_field, single_line)


class Individual(Schema):
    kind = fields.String(required=True, validate=validate.Equal("individual"))
    full_name = fields.String(required=True, validate=NAME)
    employee_id = CaselessId(required=True)
    gender = fields.String(required=True, validate=validate.OneOf(("female", "male")))
    email = Email(load_default=None, allow_none=True)
    direct_worker = fields.Boolean(load_default=False)
    position = fields.String(allow_none=True, validate=single_line(200))  # chức vụ (optional)


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
        return _instance(schema).load(value)

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
    position = fields.String(allow_none=True, validate=single_line(200))


class DocumentSummary(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))
    filename = fields.String(required=True, validate=single_line(255))


class Dossier(Schema):
    """What a council member reads of a case on the ballot page: the achievements, the years relied on
    (ratings, titles, initiatives) and the documents filed."""

    achievements = fields.String(load_default="", validate=validate.Length(max=20_000))
    history = fields.List(fields.Nested(HistoryYear), load_default=list, validate=validate.Length(max=40))
    documents = fields.List(fields.Nested(DocumentSummary), load_default=list, validate=validate.Length(max=30))


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
    dossier = fields.Nested(Dossier, allow_none=True)  # absent: an older sender
    # what the register check found (claims taken as declared, mismatches under TDKT_REGISTER_CHECK=warn):
    # review shows it to the council with the case
    register_notes = fields.List(fields.Nested(RegisterNote), validate=validate.Length(max=100))
    # the start of the achievement report, for the public comment list (NĐ 98 Art. 46); absent: an older sender
    achievements = fields.String(validate=validate.Length(max=2000))


class NominationAmended(NominationSubmitted):
    """Event ``intake.nomination_amended``: the nomination as it now stands."""

    resubmitted = fields.Boolean(load_default=False)  # True when a returned dossier goes back to review


class NominationWithdrawn(Schema):
    nomination_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    revision = revision_field()


class UnitTokenRequest(Schema):
    """``intake.issue_unit_token`` (operator): a new credential for a unit."""

    unit_id = fields.String(required=True, validate=ID)
    revoke_others = fields.Boolean(load_default=False, truthy={True}, falsy={False})


class WithdrawReason(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
