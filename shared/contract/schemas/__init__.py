"""Payload schemas of the RPC methods and events (marshmallow 4), one definition for both sides, one module
per publisher: ``intake`` (a nomination and intake's events), ``review`` (review's events and operator
arguments), ``council`` (a member's vote), ``notify``; ``base`` holds what they share and ``load``.

Unknown fields are rejected (marshmallow's default ``RAISE``) and every string has a length limit, so a
payload that passes here is bounded. ``load(schema, data)`` turns marshmallow's errors into the wire
error ``ValidationError`` carrying every field error at once. Identity rules (README "Identity rules")
are applied once, here, before any check (``base``). Everything is importable from this package:
``schemas.load(schemas.VoteCast, payload)``.
"""
from shared.contract.schemas.base import *  # noqa: F401,F403
from shared.contract.schemas.comment import *  # noqa: F401,F403
from shared.contract.schemas.council import *  # noqa: F401,F403
from shared.contract.schemas.intake import *  # noqa: F401,F403
from shared.contract.schemas.notify import *  # noqa: F401,F403
from shared.contract.schemas.review import *  # noqa: F401,F403
from shared.contract.schemas.register import *  # noqa: F401,F403
