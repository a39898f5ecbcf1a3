"""Every mail speaks in names (issue #14): the invitation links to the member's own ballot, each unit
contact gets one outcome mail per sitting, and ids stand only on one reference line."""
from services.notify import kinds
from shared.contract.awards import AWARD_NAMES
from tests.unit.test_notify_kinds import TOKEN, ballot, decided, render


def test_the_invitation_links_to_the_members_own_ballot_and_speaks_in_names():
    agenda = [{"nomination_id": "0cc2202f" * 4, "award_code": "LDTT", "nominee_name": "Trần Thị Bình",
               "unit_id": "vp", "unit_name": "Văn phòng Bộ"}]
    event = ballot(agenda=agenda, council_name="Hội đồng TĐKT Văn phòng Bộ", convened_at="2026-12-08T20:00:00+00:00",
                   ballot_url=f"https://tdkt.example.vn/ballot/{TOKEN}")
    subject, text, html = render(kinds.invitation(event, "evt-1")[0])

    assert "Hội đồng TĐKT Văn phòng Bộ ngày 09/12/2026" in subject  # the sitting's day in Vietnam
    assert f'<a href="https://tdkt.example.vn/ballot/{TOKEN}"' in html
    for body in (text, html):
        main, footnote = body.split("Ghi chú cho Thư ký Hội đồng")
        assert "Văn phòng Bộ – Lao động tiên tiến" in main and "Trần Thị Bình" in main
        assert "0cc2202f" not in main and "hd-vp" not in main and "tdkt vote" not in main
        assert "tdkt vote --token" in footnote and "0cc2202f" in footnote
        assert text.index("/ballot/") < text.index("Danh sách hồ sơ")


def test_an_invitation_without_a_link_still_names_the_council_by_its_id():
    subject, text, _ = render(kinds.invitation(ballot(), "evt-1")[0])
    assert "hd-vp" in subject and "/ballot/" not in text and "tdkt vote --token" in text
