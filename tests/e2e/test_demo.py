"""``tdkt demo`` completes a year-end batch against the running system and every mail reaches the sink."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.delivery import Tap

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_demo_runs_a_year_end_batch_through_both_councils_with_sealed_ballots(system, mail_sink):
    tdkt = str(Path(sys.executable).parent / "tdkt")
    votes = Tap(system.env["AMQP_URI"], "council", "vote_cast")  # what the broker carried
    try:
        result = subprocess.run([tdkt, "demo", "--units", "3", "--per-unit", "4"], env=system.env,
                                capture_output=True, text=True, timeout=300)
        cast = [json.loads(message.body) for message in votes.get_all()]
    finally:
        votes.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CSTD_BO" in result.stdout and "Mail sent:" in result.stdout
    assert len(cast) == 36 and all(set(vote) == {"ballot_token", "sealed"} for vote in cast)
    # 12 acknowledgements; 3 x 7 + 15 invitations, receipts and lists of receipts; outcome mail to unit
    # and nominee
    mails = mail_sink.wait_for(12 + 3 * 36 + 24)
    assert sum("Phiếu bầu phiên họp" in m["Subject"] for m in mails) == 36
    assert sum("Biên nhận phiếu bầu" in m["Subject"] for m in mails) == 36


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_status_shows_every_service_up_and_then_one_down(system):
    tdkt = str(Path(sys.executable).parent / "tdkt")
    up = subprocess.run([tdkt, "status"], env=system.env, capture_output=True, text=True, timeout=60)
    assert up.returncode == 0 and up.stdout.count(" up ") == 3, up.stdout + up.stderr
    system.kill("notify")
    down = subprocess.run([tdkt, "status"], env=system.env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and "DOWN" in down.stdout
