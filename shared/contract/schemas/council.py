"""What a council member's client publishes: ``council.vote_cast``, sealed (README "Secret ballot") or,
outside the production profile, plain."""
from marshmallow import ValidationError as SchemaError, fields, validate, validates_schema

from shared.contract.schemas.base import MAX_AGENDA, MAX_BALLOT_BYTES, Schema


def _choices(**kwargs):
    # any strings: review answers a key off the agenda or an unknown choice with vote_rejected; a schema
    # error would dead-letter the event, keeping the member's token beside their choices on the disk
    return fields.Dict(keys=fields.String(), values=fields.String(), validate=validate.Length(max=MAX_AGENDA),
                       **kwargs)


class VoteCast(Schema):
    """Event ``council.vote_cast``: ``{"ballot_token", "sealed"}`` (``shared.contract.ballots``), or the
    plain ``{"ballot_token", "choices", "written_opinion"}`` that only the local profile accepts. At least
    one of ``sealed`` and ``choices``: review refuses a vote carrying both (``ambiguous_ballot``) rather
    than dead-letter it with its choices in clear; beside ``sealed`` a top-level ``written_opinion`` is
    ignored (the sealed one counts). Choices are checked by review (an unknown one, or one off the
    agenda, is a ``vote_rejected``, not a malformed event), as is a sealed box that does not open."""

    # any string, even empty or huge (bounded by the payload's size): review answers a bad one with
    # vote_rejected and an audit row instead of dead-lettering the event
    ballot_token = fields.String(required=True)
    sealed = fields.String(validate=validate.Length(min=1, max=MAX_BALLOT_BYTES))
    choices = _choices()
    written_opinion = fields.Boolean(load_default=False)

    @validates_schema
    def sealed_or_plain(self, data, **kwargs):
        if "sealed" not in data and "choices" not in data:
            raise SchemaError({"_schema": ["a vote carries sealed or choices"]})


class SealedContent(Schema):
    """What a sealed box holds once review opens it (never stored, never logged)."""

    choices = _choices(required=True)
    written_opinion = fields.Boolean(load_default=False)
