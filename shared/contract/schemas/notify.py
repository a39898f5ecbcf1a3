"""Notify's operator method's arguments."""
from marshmallow import fields, validate

from shared.contract.schemas.base import (Schema)


class MailLogQuery(Schema):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("pending", "sent", "failed")))
    limit = fields.Integer(strict=True, load_default=50, validate=validate.Range(min=1, max=1000))
