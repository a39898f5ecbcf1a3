"""Credentials checked at the entrypoint: the operator token (``TDKT_ADMIN_TOKEN``)."""
import hmac

from nameko.extensions import DependencyProvider

from shared.platform.config import load_settings
from shared.contract import AUTH_TOKEN
from shared.contract.errors import Unauthorized


def check_operator(token, admin_token: str) -> None:
    """Raise ``Unauthorized`` unless ``token`` is the operator token (compared in constant time)."""
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), admin_token.encode()):
        raise Unauthorized("the operator token is required in context data 'auth_token'")


class OperatorOnly(DependencyProvider):
    """Injects a callable that raises ``Unauthorized`` unless the caller sent the operator token."""

    def setup(self):
        self.admin_token = load_settings().admin_token

    def get_dependency(self, worker_ctx):
        return lambda: check_operator(worker_ctx.data.get(AUTH_TOKEN), self.admin_token)
