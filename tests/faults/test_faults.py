"""The short form of the fault run (the full one: ``make faults``)."""
import pytest

from tests.faults import chaos, checker

pytestmark = pytest.mark.faults


def test_a_batch_survives_killed_services_and_restarted_brokers_and_databases_with_nothing_lost_or_doubled():
    report = chaos.run(nominations=20, per_type=1, units=4, seed=7, timeout=150)
    print(checker.describe(report))
    assert report["ok"], checker.describe(report)
