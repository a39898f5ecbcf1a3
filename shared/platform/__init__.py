"""The platform every service runs on: settings, database and unit of work, outbox and inbox, the guarded
bus entrypoints, credentials, logs, health and metrics, dead letters, and the client side of the bus.
Imported by services and the command line; imports shared.contract and shared.law, never services/."""
