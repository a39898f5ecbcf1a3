"""Development tooling, never part of a deployment's path: the SMTP sink of ``make run`` and the tests, and
the sample year-end batch of ``tdkt demo`` and the benchmark. Imports shared.contract and shared.platform."""
