"""A nomination travels intake -> review -> notify over RabbitMQ and ends as a mail to its unit."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.platform.config import LOCAL_ADMIN_TOKEN
from tests.harness import wait_until

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "nomination.json"


def issue_token(env, unit_id):
    """``tdkt unit token UNIT``: intake issues it over RPC; the command never opens intake's database
    (here it could not: the URL it would use points nowhere)."""
    tdkt = Path(sys.executable).parent / "tdkt"
    result = subprocess.run([str(tdkt), "unit", "token", unit_id],
                            env={**env, "INTAKE_DB_URL": "sqlite:////nonexistent/tdkt/intake.db"},
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_a_submitted_nomination_waits_for_its_unit_council_and_the_unit_is_mailed(system, mail_sink,
                                                                                 rabbit_config):
    token = issue_token(system.env, "vp")
    nomination = json.loads(EXAMPLE.read_text(encoding="utf-8"))

    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": token}, timeout=30) as proxy:
        receipt = proxy.intake.submit_nomination(nomination)
        assert receipt["status"] == "submitted" and receipt["duplicate"] is False

    [mail] = mail_sink.wait_for(1)
    assert mail["To"] == "vanphong@example.vn"
    assert mail["Subject"] == ("[TĐKT] Đã nhận hồ sơ đề nghị Lao động tiên tiến – Nguyễn Thị Hoa")
    text = mail.get_body(("plain",)).get_content()
    assert "Nguyễn Thị Hoa" in text and receipt["nomination_id"] in text
    assert "Hội đồng Thi đua - Khen thưởng" in text
    assert mail.get_body(("html",)).get_content_charset() == "utf-8"

    with ClusterRpcProxy(rabbit_config, context_data={"auth_token": LOCAL_ADMIN_TOKEN}) as proxy:
        case = wait_until(lambda: _case(proxy, receipt["nomination_id"]), what="review to record it")
    assert (case["stage"], case["state"], case["unit_id"]) == ("unit", "waiting", "vp")


def _case(proxy, nomination_id):
    from shared.contract.errors import NotFound

    try:
        return proxy.review.get_case(nomination_id)
    except NotFound:
        return None
