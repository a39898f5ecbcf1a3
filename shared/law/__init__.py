"""The law as data: the rule sets of Law 06/2022 and its decrees (thresholds, quorum, quotas, documents,
pipelines) by effective date. Imported by services and the command line; imports only shared.contract."""
