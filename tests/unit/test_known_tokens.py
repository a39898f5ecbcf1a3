"""``KnownTokens``: the units of the token digests a process has seen, the most recently used kept."""
from services.intake.domain import KnownTokens


def test_the_least_recently_used_digest_is_forgotten_first():
    known = KnownTokens(size=2)
    assert known.learn("a", "vp") == "vp"
    known.learn("b", "tccb")
    assert known.unit_for("a") == "vp"  # used: now the most recent
    known.learn("c", "kh")
    assert (known.unit_for("a"), known.unit_for("b"), known.unit_for("c")) == ("vp", None, "kh")


def test_a_digest_learnt_again_takes_its_new_unit_and_a_forgotten_one_is_gone():
    known = KnownTokens()
    known.learn("a", "vp")
    known.learn("a", "tccb")
    assert known.unit_for("a") == "tccb"
    known.forget("a")
    known.forget("never seen")
    assert known.unit_for("a") is None
