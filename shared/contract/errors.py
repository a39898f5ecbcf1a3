"""Error names that cross the bus, defined once for servers and clients.

Each class is registered with Nameko's ``deserialize_to_instance`` under its own path, so a client that
imports this module gets the same class back from a failed RPC call (with the same arguments)
instead of a generic ``RemoteError``. Services list them as ``expected_exceptions``.
"""
from nameko.exceptions import deserialize_to_instance


class TdktError(Exception):
    """Base of the errors a caller is expected to handle."""

    code = "error"

    @property
    def detail(self):
        return self.args[0] if self.args else None


@deserialize_to_instance
class ValidationError(TdktError):
    """The payload is malformed. ``detail`` maps each field to its messages (all of them at once)."""

    code = "validation_error"


@deserialize_to_instance
class Ineligible(TdktError):
    """The nominee does not meet the criteria. ``detail`` is ``[{"code", "message"}]``, every unmet rule."""

    code = "ineligible"


@deserialize_to_instance
class Conflict(TdktError):
    """The request contradicts what is stored (e.g. same submission key, different body)."""

    code = "conflict"


@deserialize_to_instance
class Unauthorized(TdktError):
    """The credential is missing or bad."""

    code = "unauthorized"


@deserialize_to_instance
class Forbidden(TdktError):
    """The caller may not act on this data (e.g. another unit's nomination)."""

    code = "forbidden"


@deserialize_to_instance
class NotFound(TdktError):
    """No such record."""

    code = "not_found"


EXPECTED = (ValidationError, Ineligible, Conflict, Unauthorized, Forbidden, NotFound)
