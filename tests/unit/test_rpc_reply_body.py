"""What an RPC reply says (shared.platform.replies.reply_body): Nameko's ``{"result", "error"}`` in JSON,
and a result JSON cannot carry answered as ``UnserializableValueError``."""
import json

from shared.contract.errors import ValidationError
from shared.platform.replies import reply_body


def raised(exc):
    try:
        raise exc
    except Exception as caught:
        return type(caught), caught, caught.__traceback__


def test_a_result_goes_as_json_with_no_error():
    content_type, encoding, body, result, exc_info = reply_body({"nomination_id": "n-1", "name": "Nguyễn Ánh"}, None)
    assert (content_type, encoding) == ("application/json", "utf-8")
    assert json.loads(body) == {"result": {"nomination_id": "n-1", "name": "Nguyễn Ánh"}, "error": None}
    assert result == {"nomination_id": "n-1", "name": "Nguyễn Ánh"} and exc_info is None


def test_an_error_goes_as_nameko_serialises_it():
    error = raised(ValidationError({"award_code": ["unknown"]}))
    *_, body, result, exc_info = reply_body(None, error)
    sent = json.loads(body)
    assert sent["result"] is None and exc_info is error
    assert sent["error"]["exc_type"] == "ValidationError"
    assert "award_code" in sent["error"]["value"]


def test_a_result_json_cannot_carry_is_answered_as_unserializable_and_becomes_the_workers_error():
    *_, body, result, exc_info = reply_body({"when": object()}, None)
    sent = json.loads(body)
    assert sent["result"] is None and result is None
    assert sent["error"]["exc_type"] == "UnserializableValueError"
    assert exc_info is not None and exc_info[0] is not None
