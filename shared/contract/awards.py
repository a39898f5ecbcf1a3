"""The award codes that cross the bus, with their legal Vietnamese names (Law 06/2022/QH15 Art. 8-9, 19-20).

Which rules and stages apply to each award is rule-set data owned by intake and review; the codes and
names are the shared vocabulary every service (and every mail) uses.
"""

AWARD_NAMES = {
    "LDTT": "Lao động tiên tiến",
    "CSTDCS": "Chiến sĩ thi đua cơ sở",
    "CSTD_BO": "Chiến sĩ thi đua cấp Bộ",
    "CSTD_TQ": "Chiến sĩ thi đua toàn quốc",
    "TTLDTT": "Tập thể lao động tiên tiến",
    "TTLDXS": "Tập thể lao động xuất sắc",
    "CO_BO": "Cờ thi đua của Bộ",
    "CO_CP": "Cờ thi đua của Chính phủ",
    "GK": "Giấy khen",
    "BK_BO": "Bằng khen của Bộ trưởng",
    "BK_TTG": "Bằng khen của Thủ tướng Chính phủ",
    "HCLD3": "Huân chương Lao động hạng Ba",
}
AWARD_CODES = tuple(AWARD_NAMES)
# The kinds of document a dossier may hold (contract: nomination ``documents``); a rule set requires some.
DOCUMENT_KINDS = ("to_trinh", "bao_cao_thanh_tich", "bien_ban", "xac_nhan_sang_kien", "other",
                  "quyet_dinh")  # quyet_dinh: an award decision, proof of a title decided elsewhere
# Titles this ministry's system decides (the head of a unit or the Minister): a claim of one is checked
# against the register. The others (CSTD_TQ, CO_CP, BK_TTG, HCLD3) are decided centrally: a claim needs
# its decision document (``quyet_dinh``) in the dossier, or an entry recorded from that decision.
DECIDED_HERE = ("LDTT", "CSTDCS", "CSTD_BO", "BK_BO", "TTLDTT", "TTLDXS", "CO_BO", "GK")
REVOCATION_GROUNDS = ("a", "b", "c", "d")  # Law 06/2022 Art. 93(2)
