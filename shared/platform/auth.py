"""Credentials checked at the entrypoint: the operator token (``TDKT_ADMIN_TOKEN``)."""
import hashlib
import hmac

from nameko.extensions import DependencyProvider

from shared.platform.config import load_settings
from shared.contract import AUTH_TOKEN
from shared.contract.errors import Unauthorized


def credential_id(token) -> str:
    """What audit rows and the register record of a credential: a digest, never the token (whatever a
    caller sent: a lone surrogate, which JSON can carry, is digested, not an encoding error)."""
    return hashlib.sha256(str(token).encode("utf-8", "surrogatepass")).hexdigest()[:12]


def check_operator(token, admin_token: str) -> str:
    """Raise ``Unauthorized`` unless ``token`` is the operator token (compared in constant time); the
    credential's id (``credential_id``) otherwise."""
    if not isinstance(token, str) or not hmac.compare_digest(token.encode("utf-8", "surrogatepass"),
                                                              admin_token.encode()):
        raise Unauthorized("the operator token is required in context data 'auth_token'")
    return credential_id(token)


class OperatorOnly(DependencyProvider):
    """Injects a callable that raises ``Unauthorized`` unless the caller sent the operator token, and
    returns the credential's id (a digest) for the audit."""

    def setup(self):
        self.admin_token = load_settings().admin_token

    def get_dependency(self, worker_ctx):
        return lambda: check_operator(worker_ctx.data.get(AUTH_TOKEN), self.admin_token)
