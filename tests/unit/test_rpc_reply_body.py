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


def link_with(*tags):
    from shared.platform.replies import Link, Reply

    link = object.__new__(Link)  # the bookkeeping alone, no connection
    link.pending = {tag: Reply(None, "nameko-rpc", f"reply-{tag}") for tag in tags}
    return link


def test_a_confirm_of_one_reply_or_of_all_up_to_one_settles_exactly_those():
    link = link_with(1, 2, 3, 4, 6)
    link._on_ack(2, False)
    assert sorted(link.pending) == [1, 3, 4, 6]
    link._on_ack(4, True)
    assert sorted(link.pending) == [6]
    link._on_ack(5, False)  # not ours (or settled already): nothing
    assert sorted(link.pending) == [6]


def test_a_reply_the_broker_refuses_is_logged_as_not_sent_with_its_queue_and_nothing_of_its_body(caplog):
    link = link_with(1, 2, 3)
    link._on_nack(2, True)
    assert sorted(link.pending) == [3]
    refused = [r.getMessage() for r in caplog.records if "could not be sent" in r.getMessage()]
    assert refused == ["rpc reply to reply-1 could not be sent: the broker refused it",
                       "rpc reply to reply-2 could not be sent: the broker refused it"]


def test_a_link_with_a_reply_unconfirmed_past_the_confirm_timeout_is_overdue():
    from shared.platform.replies import CONFIRM_TIMEOUT

    link = link_with(1, 2)
    link.pending[1].written_at, link.pending[2].written_at = 100.0, 100.0 + CONFIRM_TIMEOUT
    assert not link.overdue(100.0 + CONFIRM_TIMEOUT)
    assert link.overdue(100.1 + CONFIRM_TIMEOUT)
    assert not link_with().overdue(1e9)  # nothing unconfirmed
    link._on_ack(1, False)  # the oldest confirmed: the next one is the one that counts
    assert not link.overdue(100.1 + CONFIRM_TIMEOUT)
