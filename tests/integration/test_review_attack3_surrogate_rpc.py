"""A lone surrogate in the ``auth_token`` context data (JSON carries "\\ud800" as such) reaches intake's
submit_nomination through Nameko: it is refused as Unauthorized and audited, like any unknown token,
not an encoding error (which the security audit would not record; nor could it digest the token)."""
import pytest
import sqlalchemy as sa

from shared.contract.errors import Unauthorized
from tests.harness import wait_until
from tests.integration.conftest import EXAMPLE


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_lone_surrogate_token_is_answered_unauthorized_and_audited(intake):
    with pytest.raises(Unauthorized):
        intake.call("tok\ud800en", "submit_nomination", {**EXAMPLE, "submission_key": "k-1"})

    def audited():  # written after the answer is sent (the dependency's worker_result)
        with intake.tables.engine.connect() as connection:
            return connection.execute(sa.text("SELECT kind FROM audit")).scalars().all()

    wait_until(lambda: audited() == ["unauthorized"], what="the refusal's audit row")
    assert intake.tables.count("nominations") == 0
