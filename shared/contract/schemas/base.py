"""What every payload schema shares: the base ``Schema`` (texts normalised), bounded fields, identities,
and ``load`` (marshmallow 4).

Unknown fields are rejected (marshmallow's default ``RAISE``) and every string has a length limit, so a
payload that passes here is bounded. ``load(schema, data)`` turns marshmallow's errors into the wire
error ``ValidationError`` carrying every field error at once.

Identity rules (README "Identity rules"), applied here once, at the edge, before any check: every text
is Unicode NFC and trimmed; employee ids and initiative ids are compared without regard to case and
kept in capitals (``CaselessId``); every pattern matches the whole value (``\Z``, never ``$``, which
lets a trailing newline through). So what passes here fits its column.
"""
import contextvars
import functools
import json
import unicodedata

from marshmallow import Schema as BaseSchema, ValidationError as SchemaError, fields, validate

from shared.contract import errors


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


_NESTED = contextvars.ContextVar("tdkt_schema_nested", default=False)  # inside a load: texts normalised


class Schema(BaseSchema):
    """Every payload schema: its texts are normalised (``normalised``) before they are validated, once,
    by the outermost load: a nested schema's load (marshmallow's ``Nested``) is given texts normalised
    already, and did it again for each level it sat below."""

    def load(self, data, **kwargs):
        return self._normalised_then(super().load, data, **kwargs)

    def validate(self, data, **kwargs):
        return self._normalised_then(super().validate, data, **kwargs)

    @staticmethod
    def _normalised_then(method, data, **kwargs):
        if _NESTED.get():
            return method(data, **kwargs)
        entered = _NESTED.set(True)
        try:
            return method(normalised(data), **kwargs)
        finally:
            _NESTED.reset(entered)


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
STAGE = validate.Length(min=1, max=16)  # a council's level (unit, ministry): what the stage columns hold
REVISION = validate.Range(min=1, max=1_000_000)  # a dossier's revision: 1 when submitted, +1 per amendment
STATUSES = ("submitted", "in_review", "returned", "approved", "proposed", "rejected", "withdrawn", "awarded",
            "not_awarded")
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
    try:
        # surrogatepass: a lone surrogate (JSON may carry "\ud800") is measured, not an encoding error
        if len(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")) > max_bytes:
            raise errors.ValidationError({"_schema": [f"payload is larger than {max_bytes // 1024} KiB"]})
        return schema.load(data)
    except SchemaError as exc:
        raise errors.ValidationError(exc.normalized_messages()) from None
    except RecursionError:  # lists in lists hundreds deep: refused, not a fault to retry
        raise errors.ValidationError({"_schema": ["nested too deeply"]}) from None


