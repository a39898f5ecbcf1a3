"""Council tallies: quorum, and choosing among passing candidates under a quota (standard library only).

Thresholds themselves live in ``shared.law.rulesets.Threshold`` (fractions of ALL members, NĐ 98 Art. 30.7).
This module answers the questions asked after the ballots are counted: was the sitting valid, and which of
the candidates who passed fit the quota (NĐ 98 Art. 4: ties go to women or to collectives with ≥ 70 %
women, then to the chair).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

from shared.law.rulesets import Quota

WOMEN_SHARE_FOR_PRIORITY = Fraction(7, 10)  # NĐ 98 Art. 4: a collective with at least 70 % women


def quorum_met(participants: int, members: int, quorum: Fraction) -> bool:
    """Whether ``participants`` of a ``members``-strong council make a valid sitting.

    Valid when participants ≥ ceil(quorum × members). Absent members who sent a written opinion count as
    participants: the caller includes them. Raises ``ValueError`` for a council without members or a
    participant count outside 0..members.
    """
    if members < 1:
        raise ValueError(f"a council has at least one member, not {members}")
    if not 0 <= participants <= members:
        raise ValueError(f"participants must be between 0 and {members}, not {participants}")
    return participants >= ceil(Fraction(quorum) * members)


@dataclass(frozen=True)
class Candidate:
    """A nomination that passed its threshold, with its (secret, aggregate) ballot result.

    ``priority``: the nominee is a woman, or a collective with ≥ 70 % women (see ``woman_first``).
    """

    nomination_id: str
    award_code: str
    approve: int
    reject: int
    abstain: int
    priority: bool


def woman_first(nominee: dict) -> bool:
    """The NĐ 98 Art. 4 tie-break priority of a nominee summary.

    ``{"kind": "individual"|"collective", "gender": "female"|"male"|None, "members_total": int|None,
    "members_female": int|None}``: an individual has priority when female; a collective when
    members_female / members_total ≥ 7/10. Missing or unusable numbers, or an unknown kind, give False.
    """
    kind = nominee.get("kind")
    if kind == "individual":
        return nominee.get("gender") == "female"
    if kind == "collective":
        total, female = nominee.get("members_total"), nominee.get("members_female")
        if not isinstance(total, int) or not isinstance(female, int) or total <= 0:
            return False
        return Fraction(female, total) >= WOMEN_SHARE_FOR_PRIORITY
    return False


@dataclass(frozen=True)
class Selection:
    """The outcome of a quota: ``selected`` and ``over_quota`` are final; ``tied`` waits for the chair,
    who picks exactly ``places_left_for_tied`` of them. Every passing candidate is in exactly one tuple."""

    selected: tuple[str, ...]
    over_quota: tuple[str, ...]
    tied: tuple[str, ...]
    places_left_for_tied: int


def select(passing: list[Candidate], places: int | None,
           chair_choice: tuple[str, ...] | None = None) -> Selection:
    """Choose among ``passing`` candidates (of one award and council) for ``places`` places.

    ``places`` None means no quota: all are selected. Otherwise candidates rank by approvals; all ranked
    strictly above the cut-off approvals are selected and all below it are over quota. In the group tied at
    the cut-off, priority candidates (``woman_first``) go first. Equals the remaining places cannot
    separate are returned in ``tied`` (neither selected nor over quota) with ``places_left_for_tied`` —
    unless ``chair_choice`` names exactly that many of them, which are then selected and the rest of the
    tie is over quota. Output tuples keep ranking order (approvals descending, then nomination id).

    Raises ``ValueError`` for negative places, duplicate nomination ids, or a ``chair_choice`` that is
    not exactly ``places_left_for_tied`` distinct ids among the tied ones.
    """
    if places is not None and places < 0:
        raise ValueError(f"places cannot be negative, not {places}")
    ids = [c.nomination_id for c in passing]
    if len(set(ids)) != len(ids):
        raise ValueError("each nomination may appear only once among the passing candidates")
    ranked = sorted(passing, key=lambda c: (-c.approve, c.nomination_id))
    selected, tied, left = _rank_into_places(ranked, places)
    if chair_choice is not None:
        _check_chair_choice(chair_choice, tied, left)
        selected, tied, left = selected | set(chair_choice), set(), 0
    order = [c.nomination_id for c in ranked]
    return Selection(
        selected=tuple(i for i in order if i in selected),
        over_quota=tuple(i for i in order if i not in selected and i not in tied),
        tied=tuple(i for i in order if i in tied),
        places_left_for_tied=left,
    )


def _rank_into_places(ranked: list[Candidate], places: int | None) -> tuple[set[str], set[str], int]:
    """(selected ids, tied ids, places left for the tied) before any chair's decision."""
    if places is None or len(ranked) <= places:
        return {c.nomination_id for c in ranked}, set(), 0
    if places == 0:
        return set(), set(), 0
    cut_off = ranked[places - 1].approve
    above = {c.nomination_id for c in ranked if c.approve > cut_off}
    at_cut_off = [c for c in ranked if c.approve == cut_off]
    left = places - len(above)
    first = [c.nomination_id for c in at_cut_off if c.priority]
    then = [c.nomination_id for c in at_cut_off if not c.priority]
    if len(first) > left:  # more women (or women-led collectives) than places: the chair decides among them
        return above, set(first), left
    left -= len(first)
    if len(then) > left and left > 0:  # the remaining places cannot separate the others
        return above | set(first), set(then), left
    return above | set(first) | set(then[:left]), set(), 0


def _check_chair_choice(chair_choice: tuple[str, ...], tied: set[str], left: int) -> None:
    chosen = set(chair_choice)
    if not tied and not chosen:
        return  # nothing to break, and the chair chose nothing
    if not tied:
        raise ValueError(f"there is no tie for the chair to break, yet the chair chose {sorted(chosen)}")
    if len(chosen) != len(chair_choice):
        raise ValueError(f"the chair's choice names a candidate twice: {list(chair_choice)}")
    if not chosen <= tied:
        raise ValueError(f"the chair may only choose among the tied candidates {sorted(tied)}; "
                         f"not tied: {sorted(chosen - tied)}")
    if len(chosen) != left:
        raise ValueError(f"the chair must choose exactly {left} of the tied candidates {sorted(tied)}, "
                         f"not {len(chosen)}")


def places_left(quota: Quota | None, already_selected: int, base_count: int | None) -> int | None:
    """Places still open under ``quota`` after ``already_selected`` (never below 0); None means no quota.

    ``count``: count − already_selected. ``share`` of ``base``: floor(share × base_count) −
    already_selected, since the law caps ("không quá") rather than rounds. Both: the smaller. A share
    without ``base_count`` raises ``ValueError``; so does a negative ``already_selected`` or base count.
    """
    if already_selected < 0:
        raise ValueError(f"already_selected cannot be negative, not {already_selected}")
    if quota is None or (quota.count is None and quota.share is None):
        return None
    caps = []
    if quota.count is not None:
        caps.append(quota.count)
    if quota.share is not None:
        if base_count is None or base_count < 0:
            raise ValueError(f"a quota of {quota.share} of {quota.base or 'its base'} needs the base count, "
                             f"not {base_count}")
        caps.append(floor(Fraction(quota.share) * base_count))
    return max(0, min(caps) - already_selected)
