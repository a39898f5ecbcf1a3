"""The public comment period's payloads (NĐ 98 Art. 46): review's ``public_comment_opened``, the objections
and their handling (operator methods and the public page's form), and the note an agenda item carries."""
from marshmallow import fields, validate

from shared.contract.awards import AWARD_CODES
from shared.contract.schemas.base import ID, NAME, REVISION, STAGE, Schema, YEAR, single_line


class PublicCommentOpened(Schema):
    """Event ``review.public_comment_opened``: the dossier is published for comment until ``comment_until``;
    no council may take it before then (intake notes it in the nomination's history)."""

    nomination_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    stage = fields.String(required=True, validate=STAGE)
    award_code = fields.String(required=True, validate=validate.OneOf(AWARD_CODES))
    award_year = fields.Integer(required=True, strict=True, validate=YEAR)
    revision = fields.Integer(load_default=None, allow_none=True, strict=True, validate=REVISION)
    comment_until = fields.String(required=True, validate=validate.Length(max=40))


OBJECTION_TEXT = 5000  # characters of an objection's text


class ObjectionNote(Schema):
    """An objection as the council sees it on its agenda (never the objector's contact)."""

    name = fields.String(required=True, validate=NAME)
    text = fields.String(required=True, validate=validate.Length(max=OBJECTION_TEXT))
    received_at = fields.String(required=True, validate=validate.Length(max=40))
    channel = fields.String(required=True, validate=validate.OneOf(("web", "paper")))
    status = fields.String(required=True, validate=validate.OneOf(("open", "resolved", "upheld")))
    handling = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class PublicComment(Schema):
    comment_until = fields.String(required=True, validate=validate.Length(max=40))
    objections = fields.List(fields.Nested(ObjectionNote), load_default=list, validate=validate.Length(max=500))
    more = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))  # objections left off


class Objection(Schema):
    """``review.record_objection`` (operator, one received on paper) and the public page's form."""

    nomination_id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    contact = fields.String(required=True, validate=single_line(254))
    text = fields.String(required=True, validate=validate.And(
        validate.Length(min=1, max=OBJECTION_TEXT),
        validate.Regexp(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\Z", error="must not contain control characters")))
    received_at = fields.AwareDateTime(load_default=None, allow_none=True)  # paper: the date it came


class ObjectionHandling(Schema):
    """``review.handle_objection``: what the operator decided about an objection, and why."""

    objection_id = fields.String(required=True, validate=ID)
    outcome = fields.String(required=True, validate=validate.OneOf(("resolved", "upheld")))
    handling = fields.String(required=True, validate=validate.Length(min=1, max=2000))
