"""The guard's screening, without a broker: what a forged message can and cannot carry into a worker."""
from types import SimpleNamespace

from hypothesis import given, strategies as st

from shared.platform.guard import body_bytes, header_count, safe_context
from shared.platform.messaging import message_id_of


def message(body=b"{}", headers=None, message_id=None, routing_key="vote_cast"):
    properties = {"message_id": message_id} if message_id is not None else {}
    return SimpleNamespace(body=body, headers=headers, properties=properties,
                           delivery_info={"routing_key": routing_key})


def test_a_body_py_amqp_decoded_to_str_has_the_same_identity_as_its_bytes():
    assert message_id_of(message(body='{"a": "ạ"}')) == message_id_of(message(body='{"a": "ạ"}'.encode()))


def test_two_identical_deliveries_without_an_id_are_one_message_and_two_bodies_are_two():
    assert message_id_of(message(body=b'{"v": 1}')) == message_id_of(message(body=b'{"v": 1}'))
    assert message_id_of(message(body=b'{"v": 1}')) != message_id_of(message(body=b'{"v": 2}'))
    assert message_id_of(message(body=b'{"v": 1}')) != message_id_of(message(body=b'{"v": 1}', routing_key="x"))


def test_a_long_or_unprintable_message_id_is_digested_whole_rather_than_cut():
    long_a, long_b = "a" * 200 + "1", "a" * 200 + "2"
    assert message_id_of(message(message_id=long_a)) != message_id_of(message(message_id=long_b))
    assert message_id_of(message(message_id="id\nwith newline")).startswith("sha256:")
    assert message_id_of(message(message_id="ordinary-id")) == "ordinary-id"


@given(st.one_of(st.binary(), st.text(), st.integers(), st.none()))
def test_any_body_has_an_identity(body):
    assert message_id_of(message(body=body)).startswith("sha256:")
    assert isinstance(body_bytes(body), bytes)


def test_only_well_typed_context_headers_reach_a_worker():
    forged = {"nameko.call_id_stack": 5, "nameko.auth_token": {"a": 1}, "nameko.user_id": "x", "other": 1}
    assert safe_context(message(headers=forged)) == {}
    assert safe_context(message(headers={"nameko.call_id_stack": [1, "a"]})) == {}
    assert safe_context(message(headers="not a table")) == {}
    good = {"nameko.call_id_stack": ["a.b.1"], "nameko.auth_token": "t" * 40}
    assert safe_context(message(headers=good)) == {"call_id_stack": ["a.b.1"], "auth_token": "t" * 40}
    assert len(safe_context(message(headers={"nameko.call_id_stack": ["x"] * 1000}))["call_id_stack"]) == 32


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.floats(), st.lists(st.integers())))
def test_a_retry_count_header_of_any_type_reads_as_a_count_within_bounds(value):
    count = header_count({"x-tdkt-attempts": value}, "x-tdkt-attempts", 5)
    assert 0 <= count <= 5
    assert count == (min(max(value, 0), 5) if type(value) is int else 0)
