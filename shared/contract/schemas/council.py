"""What a council member's client publishes: ``council.vote_cast``."""
from marshmallow import fields, validate

from shared.contract.schemas.base import (ID, MAX_AGENDA, Schema)


class VoteCast(Schema):
    """Event ``council.vote_cast``. Choice values are checked by review (an unknown one is a
    ``vote_rejected``, not a malformed event)."""

    # any string, even empty or huge (bounded by the payload's size): review answers a bad one with
    # vote_rejected and an audit row instead of dead-lettering the event
    ballot_token = fields.String(required=True)
    choices = fields.Dict(keys=fields.String(validate=ID), values=fields.String(validate=validate.Length(max=16)),
                          required=True, validate=validate.Length(max=MAX_AGENDA))
    written_opinion = fields.Boolean(load_default=False)
