"""Injects the service's :class:`shared.platform.config.Settings`, read once when it starts."""
from nameko.extensions import DependencyProvider

from shared.platform.config import load_settings


class Configuration(DependencyProvider):
    def setup(self):
        self.settings = load_settings()

    def get_dependency(self, worker_ctx):
        return self.settings
