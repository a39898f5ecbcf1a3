"""Rule sets: the law's data, versioned by effective date (NĐ 91/2017, NĐ 98/2023 Art. 30, NĐ 152/2025), and an
operator's overrides read from ``TDKT_RULES_FILE``.

Long because it holds one test per value the decrees fix, in the decrees' order.
"""
import json
from datetime import date
from fractions import Fraction

import pytest

from shared.contract.awards import AWARD_CODES, AWARD_NAMES
from shared.platform.config import ConfigError
from shared.platform.rules import load_rules
from shared.law.overrides import apply_overrides
from shared.law.rulesets import (DEFAULT_RULE_SETS, EIGHTY, MAJORITY, NINETY, Quota, Threshold, by_id,
                                 catalogue, in_force)

every_rule_set = pytest.mark.parametrize("rule_set", DEFAULT_RULE_SETS, ids=lambda rs: rs.id)
UNIT_LEVEL, MINISTRY_LEVEL = ("LDTT", "CSTDCS", "TTLDTT", "GK"), ("CSTD_BO", "TTLDXS", "CO_BO", "BK_BO")
STATE_LEVEL = ("CSTD_TQ", "CO_CP", "BK_TTG", "HCLD3")
THRESHOLDS = {"CSTD_TQ": NINETY, "CSTD_BO": NINETY, "CSTDCS": EIGHTY, "CO_BO": EIGHTY, "CO_CP": EIGHTY}


# --- Which rule set is in force ---

@pytest.mark.parametrize("on, rule_set_id", [
    (date(2023, 12, 31), "nd91-2017"), (date(2024, 1, 1), "nd98-2023"), (date(2025, 6, 30), "nd98-2023"),
    (date(2025, 7, 1), "nd152-2025"), (date(2030, 1, 1), "nd152-2025")])
def test_the_rule_set_in_force_on_a_submission_date(on, rule_set_id):
    assert in_force(on).id == rule_set_id


def test_no_rule_set_is_in_force_before_the_first():
    with pytest.raises(LookupError):
        in_force(date(2017, 1, 1))


def test_an_unknown_rule_set_id_is_a_lookup_error():
    with pytest.raises(LookupError):
        by_id("nd42-2010")


# --- Thresholds are fractions of all council members (NĐ 98 Art. 30.7) ---

@pytest.mark.parametrize("threshold, members, needed", [
    (EIGHTY, 7, 6), (NINETY, 7, 7), (MAJORITY, 7, 4), (MAJORITY, 8, 5),
    (EIGHTY, 5, 4), (NINETY, 10, 9), (EIGHTY, 10, 8), (MAJORITY, 1, 1)],
    ids=["80% of 7", "90% of 7", "majority of 7", "majority of 8", "80% of 5", "90% of 10", "80% of 10", "1"])
def test_a_council_needs_so_many_approvals(threshold, members, needed):
    assert threshold.required(members) == needed


def test_a_seven_member_council_needs_six_approvals_for_eighty_percent():
    assert Threshold(Fraction(4, 5)).required(7) == 6


@every_rule_set
@pytest.mark.parametrize("code", AWARD_CODES)
def test_each_award_is_voted_at_its_legal_threshold_at_every_stage(rule_set, code):
    assert {stage.threshold for stage in rule_set.awards[code].stages} == {THRESHOLDS.get(code, MAJORITY)}


# --- Stages, who decides, and where the ministry's pipeline ends ---

@every_rule_set
@pytest.mark.parametrize("code", UNIT_LEVEL + MINISTRY_LEVEL + STATE_LEVEL)
def test_unit_level_awards_have_one_stage_and_the_others_two(rule_set, code):
    councils = tuple(stage.council for stage in rule_set.awards[code].stages)

    assert councils == (("unit",) if code in UNIT_LEVEL else ("unit", "ministry"))


@every_rule_set
@pytest.mark.parametrize("code", AWARD_CODES)
def test_state_level_awards_end_proposed_to_the_central_level_and_the_others_approved(rule_set, code):
    assert rule_set.awards[code].final_outcome == ("proposed" if code in STATE_LEVEL else "approved")


@every_rule_set
@pytest.mark.parametrize("code, nominee", [("LDTT", "individual"), ("CSTD_TQ", "individual"),
                                           ("TTLDTT", "collective"), ("CO_CP", "collective"), ("GK", "any"),
                                           ("BK_BO", "any"), ("BK_TTG", "any"), ("HCLD3", "any")])
def test_each_award_names_the_kind_of_nominee_it_is_for(rule_set, code, nominee):
    assert rule_set.awards[code].nominee == nominee


# --- What changed between rule sets ---

def test_nd91_capped_cstdcs_at_fifteen_percent_of_the_ldtt_holders():
    assert by_id("nd91-2017").awards["CSTDCS"].quota == Quota(share=Fraction(15, 100), base="LDTT")


@pytest.mark.parametrize("rule_set_id", ["nd98-2023", "nd152-2025"])
def test_since_2024_no_award_has_a_national_quota(rule_set_id):
    assert [award.quota for award in by_id(rule_set_id).awards.values()] == [None] * 12


def test_nd91_asked_more_than_half_ldtt_for_ttldtt_and_an_initiative_for_cstdcs():
    nd91, nd98 = by_id("nd91-2017"), by_id("nd98-2023")

    assert (nd91.ttldtt_ldtt_share, nd91.ttldtt_share_strict, nd91.cstdcs_initiative_mandatory) == (
        Fraction(1, 2), True, True)
    assert (nd98.ttldtt_ldtt_share, nd98.ttldtt_share_strict, nd98.cstdcs_initiative_mandatory) == (
        Fraction(7, 10), False, False)


@every_rule_set
def test_a_sitting_is_quorate_with_two_thirds_of_members_by_default(rule_set):
    assert rule_set.quorum == Fraction(2, 3)


# --- The catalogue (intake.award_catalogue) ---

@every_rule_set
def test_the_catalogue_is_json_and_lists_all_twelve_awards_by_their_vietnamese_names(rule_set):
    listed = json.loads(json.dumps(catalogue(rule_set), ensure_ascii=False))

    names = {a["code"]: a["name"] for a in listed["awards"]}
    assert listed["rule_set"] == rule_set.id and len(listed["awards"]) == 12
    assert names == AWARD_NAMES
    assert (names["CSTDCS"], names["HCLD3"]) == ("Chiến sĩ thi đua cơ sở", "Huân chương Lao động hạng Ba")


def test_the_catalogue_states_thresholds_outcomes_and_quotas_as_text():
    awards = {a["code"]: a for a in catalogue(by_id("nd91-2017"))["awards"]}

    assert awards["CSTD_TQ"]["stages"][1] == {"council": "ministry",
                                              "threshold": {"fraction": "9/10", "strictly_more": False}}
    assert awards["CSTD_TQ"]["final_outcome"] == "proposed"
    assert awards["CSTDCS"]["quota"] == {"share": "3/20", "base": "LDTT", "count": None}
    assert awards["LDTT"]["documents"] == ["to_trinh", "bao_cao_thanh_tich", "bien_ban"]


# --- An operator's overrides ---

def overridden(rule_set_id, changes):
    return by_id(rule_set_id, apply_overrides(DEFAULT_RULE_SETS, {rule_set_id: changes}))


def test_an_override_raises_a_threshold_in_one_rule_set_only():
    changed = overridden("nd152-2025", {"awards": {"CSTDCS": {"threshold": "9/10"}}})

    assert [stage.threshold.required(7) for stage in changed.awards["CSTDCS"].stages] == [7]
    assert changed.awards["LDTT"] == by_id("nd152-2025").awards["LDTT"]
    assert by_id("nd98-2023").awards["CSTDCS"].stages[0].threshold == EIGHTY


def test_an_override_may_set_a_simple_majority():
    changed = overridden("nd98-2023", {"awards": {"CO_BO": {"threshold": "majority"}}})

    assert [stage.threshold for stage in changed.awards["CO_BO"].stages] == [MAJORITY, MAJORITY]


def test_an_override_changes_the_quorum_the_documents_and_the_quota():
    changed = overridden("nd152-2025", {"quorum": "3/4", "awards": {"CSTDCS": {
        "documents": ["to_trinh", "bien_ban"], "quota": {"share": "15/100", "base": "LDTT"}}, "GK": {"quota": {
            "count": 3}}}})

    assert changed.quorum == Fraction(3, 4)
    assert changed.awards["CSTDCS"].documents == ("to_trinh", "bien_ban")
    assert changed.awards["CSTDCS"].quota == Quota(share=Fraction(3, 20), base="LDTT")
    assert changed.awards["GK"].quota == Quota(count=3)


def test_an_override_may_lift_the_nd91_quota():
    assert overridden("nd91-2017", {"awards": {"CSTDCS": {"quota": None}}}).awards["CSTDCS"].quota is None


@pytest.mark.parametrize("overrides", [
    {"nd99-2030": {}}, {"nd98-2023": {"awards": {"HERO": {"threshold": "9/10"}}}},
    {"nd98-2023": {"deadline": 5}}, {"nd98-2023": {"awards": {"GK": {"vote": "secret"}}}},
    {"nd98-2023": {"awards": {"GK": {"threshold": "3/2"}}}}, {"nd98-2023": {"awards": {"GK": {"threshold": "0"}}}},
    {"nd98-2023": {"quorum": "0"}}, {"nd98-2023": {"quorum": "5/4"}}],
    ids=["unknown rule set", "unknown award", "unknown rule set key", "unknown award key", "threshold above one",
         "threshold of zero", "quorum of zero", "quorum above one"])
def test_an_override_the_law_cannot_mean_is_refused(overrides):
    with pytest.raises(ValueError):
        apply_overrides(DEFAULT_RULE_SETS, overrides)


def test_a_quota_share_above_one_is_refused():
    with pytest.raises(ValueError):
        apply_overrides(DEFAULT_RULE_SETS, {"nd98-2023": {"awards": {"CSTDCS": {"quota": {"share": "3/2"}}}}})


def test_overrides_leave_the_defaults_untouched():
    apply_overrides(DEFAULT_RULE_SETS, {"nd98-2023": {"quorum": "3/4"}})

    assert by_id("nd98-2023").quorum == Fraction(2, 3)


# --- The rules file (TDKT_RULES_FILE) ---

def rules_file(tmp_path, text):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_rules_file_the_defaults_apply():
    assert load_rules(None).rule_sets == DEFAULT_RULE_SETS


def test_a_yaml_rules_file_overrides_the_rule_set_it_names(tmp_path):
    rules = load_rules(rules_file(tmp_path, 'nd152-2025:\n  quorum: "3/4"\n  awards:\n'
                                            '    CSTDCS: {threshold: "9/10", quota: {share: "15/100", base: LDTT}}\n'))

    changed = rules.in_force(date(2025, 7, 1))
    assert (changed.id, changed.quorum) == ("nd152-2025", Fraction(3, 4))
    assert changed.awards["CSTDCS"].stages[0].threshold.required(7) == 7
    assert rules.by_id("nd98-2023") == by_id("nd98-2023")


@pytest.mark.parametrize("text", ["nd98-2023: {quorum: [", "- nd98-2023\n", "nd98-2023: {awards: {HERO: {}}}\n",
                                  'nd98-2023: {quorum: "2/0"}\n'],
                         ids=["broken yaml", "not a mapping", "unknown award", "division by zero"])
def test_a_malformed_rules_file_is_a_config_error_naming_the_variable(tmp_path, text):
    with pytest.raises(ConfigError, match="TDKT_RULES_FILE"):
        load_rules(rules_file(tmp_path, text))


def test_a_missing_rules_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="TDKT_RULES_FILE"):
        load_rules(tmp_path / "absent.yaml")


@pytest.mark.parametrize("text", ["nd98-2023: {awards: [CSTDCS]}\n", "nd98-2023: {awards: {GK: {quota: [3]}}}\n"],
                         ids=["awards as a list", "quota as a list"])
def test_a_rules_file_with_a_list_where_a_mapping_belongs_is_a_config_error(tmp_path, text):
    with pytest.raises(ConfigError, match="TDKT_RULES_FILE"):
        load_rules(rules_file(tmp_path, text))


def test_a_threshold_written_as_a_decimal_means_the_same_as_the_fraction(tmp_path):
    rules = load_rules(rules_file(tmp_path, "nd98-2023: {awards: {CSTDCS: {threshold: 0.8}}}\n"))

    assert rules.by_id("nd98-2023").awards["CSTDCS"].stages[0].threshold.required(5) == 4


@pytest.mark.parametrize("text, key", [
    ("nd152-2025: {awards: {LDTT: {documents: to_trinh}}}", "nd152-2025.awards.LDTT.documents"),
    ("nd152-2025: {awards: {LDTT: {documents: [to_trinh, to-trinh]}}}", "nd152-2025.awards.LDTT.documents"),
    ("nd152-2025: {awards: {LDTT: {documents: [to_trinh, to_trinh]}}}", "nd152-2025.awards.LDTT.documents"),
    ("nd152-2025: {awards: {LDTT: {documents: [1, 2]}}}", "nd152-2025.awards.LDTT.documents"),
    ("nd152-2025: {awards: {LDTT: {documents: {to_trinh: 1}}}}", "nd152-2025.awards.LDTT.documents"),
    ("nd152-2025: {awards: {LDTT: {threshold: high}}}", "nd152-2025.awards.LDTT.threshold"),
    ("nd152-2025: {awards: {LDTT: {threshold: [4, 5]}}}", "nd152-2025.awards.LDTT.threshold"),
    ("nd152-2025: {awards: {LDTT: {threshold: .nan}}}", "nd152-2025.awards.LDTT.threshold"),
    ("nd152-2025: {awards: {LDTT: {threshold: true}}}", "nd152-2025.awards.LDTT.threshold"),
    ("nd152-2025: {quorum: 1.5}", "nd152-2025.quorum"),
    ("nd152-2025: {quorum: {a: 1}}", "nd152-2025.quorum"),
    ("nd152-2025: {awards: {ldtt: {threshold: 0.5}}}", "nd152-2025.awards"),
    ("nd152-2025: {awards: {LDTT: {threshhold: 0.5}}}", "nd152-2025.awards.LDTT"),
    ("nd152-2025: {awards: {LDTT: 0.5}}", "nd152-2025.awards.LDTT"),
    ("nd152-2025: {awards: {CSTDCS: {quota: {share: 15/100, base: ldtt}}}}", "nd152-2025.awards.CSTDCS.quota.base"),
    ("nd152-2025: {awards: {CSTDCS: {quota: {share: 15/100}}}}", "nd152-2025.awards.CSTDCS.quota.base"),
    ("nd152-2025: {awards: {CSTDCS: {quota: {share: 15%, base: LDTT}}}}", "nd152-2025.awards.CSTDCS.quota.share"),
    ("nd152-2025: {awards: {CSTDCS: {quota: {count: 0}}}}", "nd152-2025.awards.CSTDCS.quota.count"),
    ("nd152-2025: {awards: {CSTDCS: {quota: {count: '3'}}}}", "nd152-2025.awards.CSTDCS.quota.count"),
    ("nd152-2025: {awards: {CSTDCS: {quota: {count: 3, share: 1/2, base: LDTT}}}}", "nd152-2025.awards.CSTDCS.quota"),
    ("nd152-2025: {awards: {CSTDCS: {quota: {base: LDTT}}}}", "nd152-2025.awards.CSTDCS.quota"),
    ("nd152-2025: {awards: {CSTDCS: {quota: 3}}}", "nd152-2025.awards.CSTDCS.quota"),
    ("nd152-2025: [quorum]", "nd152-2025"),
    ("2025: {quorum: 2/3}", "unknown rule sets: 2025"),
])
def test_a_mistyped_rules_file_stops_the_service_naming_the_file_and_the_key(tmp_path, text, key):
    path = rules_file(tmp_path, text + "\n")

    with pytest.raises(ConfigError) as refused:
        load_rules(path)

    assert str(refused.value).startswith(f"TDKT_RULES_FILE {path}: ") and key in str(refused.value)


def test_a_documents_override_lists_known_kinds_and_keeps_them_whole(tmp_path):
    rules = load_rules(rules_file(tmp_path, "nd152-2025: {awards: {LDTT: {documents: [to_trinh, bien_ban]}}}\n"))

    assert rules.by_id("nd152-2025").awards["LDTT"].documents == ("to_trinh", "bien_ban")


def test_the_rule_sets_document_kinds_are_the_ones_a_nomination_may_carry():
    from shared.contract.schemas import DOCUMENT_KINDS

    for rule_set in DEFAULT_RULE_SETS:
        for award in rule_set.awards.values():
            assert set(award.documents) <= set(DOCUMENT_KINDS), award.code


def test_a_rules_service_refuses_to_start_with_a_bad_rules_file(tmp_path, monkeypatch):
    from shared.platform.rules import RuleBook

    monkeypatch.setenv("TDKT_RULES_FILE", str(rules_file(tmp_path, "nd152-2025: {awards: {LDTT: {documents: to_trinh}}}\n")))
    with pytest.raises(ConfigError, match="LDTT.documents"):
        RuleBook().setup()


@pytest.mark.parametrize("text, key", [
    ('nd152-2025: {quorum: "3/4"}\nnd152-2025: {awards: {LDTT: {threshold: "9/10"}}}\n', "nd152-2025"),
    ("nd152-2025:\n  awards:\n    LDTT: {threshold: 0.9}\n    LDTT: {documents: [to_trinh]}\n", "LDTT"),
    ('{"nd152-2025": {"quorum": "3/4", "quorum": "2/3"}}', "quorum"),
])
def test_a_key_written_twice_is_refused_rather_than_the_first_silently_dropped(tmp_path, text, key):
    path = rules_file(tmp_path, text)

    with pytest.raises(ConfigError) as refused:
        load_rules(path)

    assert str(refused.value).startswith(f"TDKT_RULES_FILE {path}: ") and "twice" in str(refused.value)
    assert key in str(refused.value)


@pytest.mark.parametrize("text", ["0\n", "false\n", "[]\n", "''\n", "{}\n[]\n"])
def test_a_rules_file_holding_anything_but_a_mapping_is_refused_even_an_empty_one(tmp_path, text):
    with pytest.raises(ConfigError, match="TDKT_RULES_FILE"):
        load_rules(rules_file(tmp_path, text))


@pytest.mark.parametrize("text", ["", "# nothing overridden yet\n", "{}\n"])
def test_an_empty_rules_file_or_an_empty_mapping_keeps_the_defaults(tmp_path, text):
    assert load_rules(rules_file(tmp_path, text)).rule_sets == DEFAULT_RULE_SETS
