"""Review's payloads: the events it publishes (outcomes, ``nominations_on_agenda``, ``amendment_refused``,
``ballot_issued``, ``vote_counted``, ``sitting_closed``, ``receipts_published``) and its operator methods'
arguments (the directory, returns, ties, quotas, years).

Long because review publishes more kinds of event than the other services, each with its schema here."""
from marshmallow import ValidationError as SchemaError, fields, validate, validates_schema

from shared.contract.awards import AWARD_CODES
from shared.contract.schemas.base import Email, ID, MAX_AGENDA, NAME, OUTCOMES, REVISION, STAGE, Schema, YEAR
from shared.contract.schemas.comment import PublicComment

MAX_DOCUMENT_BASE64 = 6 * 1024 * 1024  # a 1,000-item sitting's minutes are well under 1 MiB as PDF
MAX_DOCUMENTS_EVENT_BYTES = 7 * 1024 * 1024  # sitting_documents_ready: the minutes and the units in scope


class Tally(Schema):
    approve = fields.Integer(required=True, strict=True)
    reject = fields.Integer(required=True, strict=True)
    abstain = fields.Integer(required=True, strict=True)
    members = fields.Integer(required=True, strict=True)
    required = fields.Integer(required=True, strict=True)


class ReviewOutcome(Schema):
    """Events ``review.nomination_advanced``, ``nomination_decided`` and ``nomination_returned``."""

    nomination_id = fields.String(required=True, validate=ID)
    stage = fields.String(required=True, validate=STAGE)
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
    # names for the mail (issue #14), from review's directory and the case; absent from older senders
    nominee_name = fields.String(allow_none=True, validate=NAME)
    unit_name = fields.String(allow_none=True, validate=NAME)
    council_id = fields.String(allow_none=True, validate=ID)
    council_name = fields.String(allow_none=True, validate=NAME)
    # the day the sitting was convened, which the mail names it by (issue #20: no look-up in notify)
    convened_at = fields.String(allow_none=True, validate=validate.Length(max=40))


class AgendaRevision(Schema):
    """One nomination of ``review.nominations_on_agenda``: the revision of the dossier the council took."""

    nomination_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    revision = fields.Integer(load_default=None, allow_none=True, strict=True, validate=REVISION)


class NominationOnAgenda(AgendaRevision):
    """Event ``review.nomination_on_agenda`` (older reviews, one a nomination): a council put this
    revision of the dossier on a sitting."""

    sitting_id = fields.String(required=True, validate=ID)
    council_id = fields.String(required=True, validate=ID)
    stage = fields.String(required=True, validate=STAGE)


class NominationsOnAgenda(Schema):
    """Event ``review.nominations_on_agenda``: a council put these revisions of their dossiers on a
    sitting (one event per sitting, where ``nomination_on_agenda`` was one per nomination); each
    nomination once."""

    sitting_id = fields.String(required=True, validate=ID)
    council_id = fields.String(required=True, validate=ID)
    stage = fields.String(required=True, validate=STAGE)
    items = fields.List(fields.Nested(AgendaRevision), required=True,
                        validate=validate.Length(min=1, max=MAX_AGENDA))

    @validates_schema
    def each_nomination_once(self, data, **kwargs):
        ids = [item["nomination_id"] for item in data.get("items") or ()]
        if len(set(ids)) != len(ids):
            raise SchemaError({"items": ["a nomination is named more than once"]})


class AmendmentRefused(Schema):
    """Event ``review.amendment_refused``: amendment ``revision`` came after the council took
    ``considered_revision`` (of ``award_code`` / ``award_year``); it is not considered."""

    nomination_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    revision = fields.Integer(required=True, strict=True, validate=REVISION)
    considered_revision = fields.Integer(required=True, strict=True, validate=REVISION)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    stage = fields.String(required=True, validate=STAGE)
    state = fields.String(required=True, validate=validate.Length(max=24))
    sitting_id = fields.String(load_default=None, allow_none=True, validate=ID)
    reasons = fields.List(fields.String(validate=validate.Length(max=2000)), load_default=list,
                          validate=validate.Length(max=50))


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
    unit_name = fields.String(allow_none=True, validate=NAME)
    # issue #18: the public comment period and the objections with their handling (NĐ 98 Art. 46)
    public_comment = fields.Nested(PublicComment, load_default=None, allow_none=True)


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
    council_name = fields.String(allow_none=True, validate=NAME)
    ballot_url = fields.String(allow_none=True, validate=validate.Length(max=2000))
    convened_at = fields.String(allow_none=True, validate=validate.Length(max=40))
    # the sitting's public key (32 bytes, standard base64): clients seal the choices to it
    # (shared.contract.ballots); absent from ballots issued before sealing
    public_key = fields.String(validate=validate.Length(min=1, max=64))


RECEIPT = validate.Regexp(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}\Z", error="must be a receipt code XXXX-XXXX-XXXX-XXXX")


class VoteCounted(Schema):
    """Event ``review.vote_counted``: who took part and their receipt (never what they chose)."""

    sitting_id = fields.String(required=True, validate=ID)
    member_id = fields.String(required=True, validate=ID)
    receipt = fields.String(validate=RECEIPT)  # absent from votes counted before receipts
    member = fields.Nested(Member)  # where the receipt goes


class Addressee(Schema):
    name = fields.String(required=True, validate=NAME)
    email = Email(required=True)


class ReceiptsPublished(Schema):
    """Event ``review.receipts_published``, once a sitting has closed: every receipt counted, sorted and
    without names, and the roster's addresses it goes to. Each member finds their own receipt; the list
    is exactly as long as the ballots counted."""

    sitting_id = fields.String(required=True, validate=ID)
    council_id = fields.String(required=True, validate=ID)
    codes = fields.List(fields.String(validate=RECEIPT), required=True, validate=validate.Length(max=100))
    ballots_counted = fields.Integer(required=True, strict=True)
    # where the list goes: the roster's addresses (no ids, and no order tied to the codes)
    members = fields.List(fields.Nested(Addressee), required=True, validate=validate.Length(max=100))


class SittingClosed(Schema):
    """Event ``review.sitting_closed``: the published results for the units in scope."""

    sitting_id = fields.String(required=True, validate=ID)
    council_id = fields.String(required=True, validate=ID)
    stage = fields.String(required=True, validate=STAGE)
    quorum_met = fields.Boolean(required=True)
    closed_at = fields.String(required=True, validate=validate.Length(max=40))
    participants = fields.Integer(required=True, strict=True)
    units = fields.List(fields.String(validate=ID), required=True, validate=validate.Length(max=5000))
    results = fields.List(fields.Dict(), required=True, validate=validate.Length(max=MAX_AGENDA))
    council_name = fields.String(allow_none=True, validate=NAME)  # issue #14: mail speaks in names
    convened_at = fields.String(allow_none=True, validate=validate.Length(max=40))  # issue #20


class AttachedFile(Schema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content_type = fields.String(required=True, validate=validate.Length(max=100))
    content_base64 = fields.String(required=True, validate=validate.Length(max=MAX_DOCUMENT_BASE64))


class DocumentUnit(Schema):
    unit_id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    email = Email(load_default=None, allow_none=True)


class SittingDocumentsReady(Schema):
    """Event ``review.sitting_documents_ready``: a closed sitting's documents are rendered; carries the
    minutes as PDF for the units in scope (notify mails it to each unit once)."""

    sitting_id = fields.String(required=True, validate=ID)
    council_id = fields.String(required=True, validate=ID)
    council_name = fields.String(required=True, validate=NAME)
    closed_at = fields.String(required=True, validate=validate.Length(max=40))
    kinds = fields.List(fields.String(validate=validate.OneOf(("minutes", "proposal", "decision"))), required=True)
    units = fields.List(fields.Nested(DocumentUnit), required=True, validate=validate.Length(max=5000))
    minutes = fields.Nested(AttachedFile, required=True)


class UnitName(Schema):
    id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)


class DirectoryLoaded(Schema):
    """Event ``review.directory_loaded``: the units' names (never their members), so that notify's mails
    name a unit from its first acknowledgement on."""

    units = fields.List(fields.Nested(UnitName), required=True, validate=validate.Length(min=1, max=MAX_AGENDA))
