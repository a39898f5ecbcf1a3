"""The secretariat's and members' commands against a running review service."""
from pathlib import Path

import pytest
from click.testing import CliRunner
from nameko.testing.services import entrypoint_waiter

from services.review.service import ReviewService
from shared.cli.commands import main
from tests.harness import wait_until
from tests.integration.review_support import Review, submitted

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "directory.sample.yml"


@pytest.fixture
def review(container_factory, rabbit_config, service_env, monkeypatch):
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    container = container_factory(ReviewService, rabbit_config)
    container.start()
    review = Review(container, rabbit_config)
    yield review
    review.close()


def tdkt(*args):
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_sitting_run_from_the_command_line(review):
    assert "13" in tdkt("directory", "load", SAMPLE)
    assert "13" in tdkt("directory", "load", SAMPLE)  # loading again changes nothing
    review.submit(submitted("n-cli", "LDTT", "female"))
    convened = tdkt("sitting", "convene", "hd-vp", "--working-days", "3")
    sitting_id = next(word for word in convened.split() if len(word) == 32)
    ballots = wait_until(lambda: len(review.ballots(sitting_id)) == 7 and review.ballots(sitting_id))
    for member_id, ballot in ballots.items():
        with entrypoint_waiter(review.container, "on_vote_cast", timeout=15):
            tdkt("vote", "--token", ballot["ballot_token"], "--key", ballot["public_key"],
                 "reject" if member_id.endswith("7") else "approve", "n-cli")
    result = tdkt("sitting", "result", sitting_id, "--csv")
    assert "n-cli" in result and ",6,1,0," in result.replace(" ", "")
    report = tdkt("report", "--year", "2025", "--csv")
    assert "LDTT" in report
