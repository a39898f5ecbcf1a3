"""``@tick()``: a Nameko timer whose interval is ``TDKT_TICK_SECONDS`` (``config.tick_seconds``), read
when the container sets up rather than when the service's module is imported, so a wrong value stops
the service as the other settings' refusals do, and importing a service reads no environment."""
from nameko.timer import Timer

from shared.platform.config import read_at_start, tick_seconds


class Tick(Timer):
    def __init__(self, **kwargs):
        super().__init__(interval=None, **kwargs)

    def setup(self):
        self.interval = read_at_start(self.container.service_name, tick_seconds)


tick = Tick.decorator
