"""Property: any malformed nomination gets a ValidationError from a real intake, and nothing is stored."""
import copy

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from nameko.standalone.rpc import ClusterRpcProxy

from shared.contract.errors import ValidationError
from shared.contract.awards import AWARD_CODES
from shared.contract.schemas import NominationSchema
from tests.integration.conftest import EXAMPLE

FIELDS = set(NominationSchema().fields)  # every one of them is in WRONG_TYPES below
REQUIRED = ["submission_key", "award_code", "award_year", "nominee", "contact_email"]
_DICTS = st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2)
_LISTS = st.lists(st.integers(), min_size=1, max_size=2)
_NOT_STRING = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), _LISTS, _DICTS)
_NOT_BOOLEAN = st.one_of(st.none(), _LISTS, _DICTS, st.text(min_size=2, max_size=6).filter(
    lambda t: t.lower() not in ("true", "false", "yes", "no", "on", "off", "1", "0", "t", "f", "y", "n")))
WRONG_TYPES = {  # for each field, values of another type than it takes
    "submission_key": _NOT_STRING, "award_code": _NOT_STRING, "contact_email": _NOT_STRING,
    "achievements": _NOT_STRING, "award_year": st.one_of(st.none(), st.text(max_size=4), _LISTS, _DICTS,
                                                         st.floats(allow_nan=False).filter(lambda f: f % 1)),
    "under_review": _NOT_BOOLEAN, "nominee": st.one_of(st.none(), st.integers(), st.text(max_size=4), _LISTS),
    "history": st.one_of(st.none(), st.integers(), st.text(min_size=1, max_size=4), _DICTS, _LISTS),
    "documents": st.one_of(st.none(), st.integers(), st.text(min_size=1, max_size=4), _DICTS, _LISTS),
}
NOT_A_YEAR = st.one_of(st.integers(max_value=1989), st.integers(min_value=2101), st.text(max_size=6),
                       st.just("2025"))
TEXT = st.text(max_size=12)


def _drop(body, data):
    del body[data.draw(st.sampled_from(REQUIRED))]


def _unknown(body, data):
    body[data.draw(TEXT.filter(lambda k: k not in FIELDS))] = data.draw(st.integers())


def _wrong_type(body, data):
    key = data.draw(st.sampled_from(sorted(WRONG_TYPES)))
    body[key] = data.draw(WRONG_TYPES[key])


def _too_long(body, data):
    key, limit = data.draw(st.sampled_from([("submission_key", 64), ("achievements", 20_000)]))
    body[key] = "ạ" * (limit + data.draw(st.integers(1, 50)))


def _bad_enum(body, data):
    key = data.draw(st.sampled_from(["award_code", "contact_email"]))
    body[key] = data.draw(TEXT.filter(lambda v: "@" not in v and v not in AWARD_CODES))


def _bad_year(body, data):
    body["award_year"] = data.draw(NOT_A_YEAR)


def _bad_nominee(body, data):
    nominee = body["nominee"]
    choice = data.draw(st.sampled_from(["kind", "gender", "full_name", "extra", "employee_id"]))
    if choice == "extra":
        nominee[data.draw(TEXT.filter(lambda k: k not in nominee and k != "kind"))] = 1
    elif choice == "full_name":
        nominee["full_name"] = data.draw(st.sampled_from(["", "x" * 201, "Nguyễn\nHoa", "Hoa\x00"]))
    elif choice == "employee_id":
        nominee["employee_id"] = data.draw(st.sampled_from(["", "-x", "a b", "x" * 65, "mã/1"]))
    else:
        nominee[choice] = data.draw(TEXT.filter(lambda v: v not in ("female", "male", "individual",
                                                                      "collective")))


BAD_ROW_VALUES = {
    "history": {"year": NOT_A_YEAR, "rating": TEXT.filter(lambda v: v not in ("HTXSNV", "HTTNV", "HTNV", "KHTNV")),
                "titles": st.just("LDTT"), "disciplined": _NOT_BOOLEAN,
                "initiatives": st.just([{"id": "SK-1"}])},
    "documents": {"kind": TEXT.filter(lambda v: v not in ("to_trinh", "bien_ban", "other")),
                  "sha256": TEXT, "size": st.one_of(st.integers(max_value=0), st.text(max_size=3)),
                  "filename": st.sampled_from(["", "a\x00.pdf", "x" * 256])},
}


def _bad_history_or_document(body, data):
    target = data.draw(st.sampled_from(sorted(BAD_ROW_VALUES)))
    key = data.draw(st.sampled_from(sorted(BAD_ROW_VALUES[target])))
    body[target][0][key] = data.draw(BAD_ROW_VALUES[target][key])


MUTATIONS = [_drop, _unknown, _wrong_type, _too_long, _bad_enum, _bad_year, _bad_nominee,
             _bad_history_or_document]


@st.composite
def malformed(draw):
    if draw(st.integers(0, 20)) == 0:  # now and then, not even an object
        return draw(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3)))
    body, data = copy.deepcopy(EXAMPLE), _Drawer(draw)
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        try:
            mutation(body, data)
        except (KeyError, TypeError, IndexError, AttributeError):  # an earlier mutation took its target
            _unknown(body, data)
    return body


class _Drawer:
    def __init__(self, draw):
        self.draw = draw


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_a_thousand_malformed_nominations_each_get_a_validation_error_and_store_nothing(intake):
    outcomes = {"validation_error": 0}
    with ClusterRpcProxy(intake.rabbit_config, context_data={"auth_token": intake.tokens["vp"]},
                         timeout=15) as proxy:

        @settings(max_examples=1000, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
        @given(malformed())
        def each_is_refused(payload):
            with pytest.raises(ValidationError):
                proxy.intake.submit_nomination(payload)
            outcomes["validation_error"] += 1

        each_is_refused()
    assert outcomes["validation_error"] >= 1000
    assert (intake.tables.count("nominations"), intake.tables.count("outbox")) == (0, 0)
