"""Where each award stands in Luật Thi đua, khen thưởng 06/2022/QH15 (standard library only): the legal
basis a proposal letter (NĐ 98/2023 Annex I, Mẫu 01) and a decision cite. Titles cite their article
(Art. 21-28); commendations and orders cite the clause for individuals (khoản 1) or collectives
(khoản 2), per the Law's layout of Art. 44 and 73-75."""
from __future__ import annotations

LAW = "Luật Thi đua, khen thưởng số 06/2022/QH15"
TITLES = {"CSTD_TQ": 21, "CSTD_BO": 22, "CSTDCS": 23, "LDTT": 24, "CO_CP": 25, "CO_BO": 26, "TTLDXS": 27,
          "TTLDTT": 28}
BY_CLAUSE = {"HCLD3": 44, "BK_TTG": 73, "BK_BO": 74, "GK": 75}
KIND_NAMES = {"cong_trang": "công trạng", "dot_xuat": "đột xuất", "chuyen_de": "chuyên đề",
              "cong_hien": "cống hiến", "nien_han": "niên hạn", "doi_ngoai": "đối ngoại"}


def legal_basis(award_code: str, nominee_kind: str | None = None) -> str:
    """``Điều 24 Luật ...`` for a title; ``khoản 1 Điều 74 Luật ...`` (individual) or ``khoản 2`` (collective)
    for a commendation or an order; both clauses when the kind is not given."""
    if award_code in TITLES:
        return f"Điều {TITLES[award_code]} {LAW}"
    article = BY_CLAUSE[award_code]
    clause = {"individual": "khoản 1", "collective": "khoản 2"}.get(nominee_kind, "khoản 1 và khoản 2")
    return f"{clause} Điều {article} {LAW}"
