"""What the services share, in four rooms (README "Architecture"): ``contract`` (what crosses the bus),
``law`` (the rule sets), ``platform`` (what every service runs on), ``cli`` (the ``tdkt`` command), and
``devtools``. Nothing here imports ``services/``."""
