"""``@tick()``: a Nameko timer whose interval is ``TDKT_TICK_SECONDS`` (``config.tick_seconds``), read
when the container sets up rather than when the service's module is imported, so a wrong value stops
the service as the other settings' refusals do, and importing a service reads no environment."""
import logging

from nameko.timer import Timer

from shared.platform.config import ConfigError, tick_seconds

log = logging.getLogger(__name__)


class Tick(Timer):
    def __init__(self, **kwargs):
        super().__init__(interval=None, **kwargs)

    def setup(self):
        try:
            self.interval = tick_seconds()
        except ConfigError as exc:
            log.critical("%s cannot start: %s", self.container.service_name, exc)
            raise


tick = Tick.decorator
