"""The words of every unmet criterion, Vietnamese first with English beside it."""

TEXTS = {
    "wrong_nominee_kind": ("{award} chỉ xét tặng cho đối tượng loại {kind}.",
                           "{award} is awarded only to a nominee of kind {kind}."),
    "on_hold_under_review": ("Tạm hoãn: đối tượng đang bị xem xét kỷ luật, điều tra hoặc khiếu nại "
                             "(NĐ 98 Điều 4); nộp lại khi đã có kết luận.",
                             "On hold: the nominee is under disciplinary review, investigation or complaint "
                             "(NĐ 98 Art. 4); submit again once it is concluded."),
    "no_history_for_award_year": ("Thiếu kết quả đánh giá năm {year}.", "No rating is given for {year}."),
    "disciplined_in_award_year": ("Đối tượng bị kỷ luật trong năm {year}.",
                                  "The nominee was disciplined in {year}."),
    "rating_below_good": ("Năm {year} chưa đạt mức hoàn thành tốt nhiệm vụ trở lên (Luật TĐKT Điều 24).",
                          "{year} was not rated HTTNV or better (Law Art. 24)."),
    "rating_not_excellent": ("Năm {year} chưa đạt mức hoàn thành xuất sắc nhiệm vụ.",
                             "{year} was not rated HTXSNV."),
    "excellence_or_initiative_required": (
        "Năm {year} cần hoàn thành xuất sắc nhiệm vụ hoặc có sáng kiến được công nhận cấp cơ sở "
        "chưa dùng cho khen thưởng khác (Luật TĐKT Điều 23).",
        "{year} needs an HTXSNV rating or an unused initiative recognised at base level (Law Art. 23)."),
    "initiative_required": ("Năm {year} cần có sáng kiến được công nhận chưa dùng cho khen thưởng khác "
                            "(NĐ 91/2017).",
                            "{year} needs a recognised initiative not used for another award (NĐ 91/2017)."),
    "cstdcs_three_years": ("Chưa đạt Chiến sĩ thi đua cơ sở 3 năm liên tục; thiếu năm {missing} "
                           "(Luật TĐKT Điều 22).",
                           "CSTDCS is not held three years running; missing {missing} (Law Art. 22)."),
    "initiative_bo_required": ("Cần sáng kiến có phạm vi ảnh hưởng cấp Bộ chưa dùng cho khen thưởng khác.",
                               "Needs an unused initiative of ministry scope."),
    "cstd_bo_twice": ("Chưa đạt Chiến sĩ thi đua cấp Bộ 2 lần liên tục (đã có: {held}) (Luật TĐKT Điều 21).",
                      "CSTD_BO is not held twice running (held: {held}) (Law Art. 21)."),
    "initiative_national_required": ("Cần sáng kiến có phạm vi ảnh hưởng toàn quốc chưa dùng cho khen "
                                     "thưởng khác.", "Needs an unused initiative of national scope."),
    "bk_bo_criteria": ("Chưa đạt Chiến sĩ thi đua cơ sở 2 năm liên tục ({first}, {last}), cũng chưa "
                       "hoàn thành xuất sắc nhiệm vụ 2 năm liên tục với 2 sáng kiến chưa dùng "
                       "(Luật TĐKT Điều 74).",
                       "Neither CSTDCS in {first} and {last}, nor HTXSNV both years with two unused "
                       "initiatives (Law Art. 74)."),
    "initiative_already_used": ("Sáng kiến {ids} đã được dùng để đề nghị khen thưởng khác: mỗi thành "
                                "tích chỉ được khen một lần (NĐ 98 Điều 4).",
                                "Initiative {ids} already backs another award: one achievement, one award "
                                "(NĐ 98 Art. 4)."),
    "prerequisite_required": ("Chưa có {award} (theo công trạng) làm điều kiện.",
                              "The prerequisite {award} (for merit) is not held."),
    "five_good_years": ("Sau năm {since} mới có {count} năm liên tục hoàn thành tốt nhiệm vụ trở lên, "
                        "cần 5 năm.", "Only {count} good years running since {since}; 5 are needed."),
    "three_cstdcs": ("Sau năm {since} chưa có 3 lần Chiến sĩ thi đua cơ sở trong các năm đó.",
                     "Fewer than three CSTDCS in the years since {since}."),
    "one_excellent_year": ("Sau năm {since} chưa có năm nào hoàn thành xuất sắc nhiệm vụ.",
                           "No HTXSNV year since {since}."),
    "collective_ldtt_share": ("Tỷ lệ cá nhân đạt Lao động tiên tiến là {actual}, cần {needed}.",
                              "{actual} of members are LDTT; {needed} is needed."),
    "collective_member_disciplined": ("Có {count} cá nhân bị kỷ luật từ khiển trách trở lên.",
                                      "{count} member(s) were disciplined."),
    "collective_not_all_completed": ("Chưa phải 100% cá nhân hoàn thành nhiệm vụ.",
                                     "Not every member completed their tasks."),
    "collective_no_cstdcs": ("Không có cá nhân đạt Chiến sĩ thi đua cơ sở.", "No member is CSTDCS."),
    "missing_document": ("Thiếu tài liệu {kind} trong hồ sơ (Luật TĐKT Điều 84).",
                         "The dossier lacks the document {kind} (Law Art. 84)."),
    "not_in_register": ("Danh hiệu {title} năm {year} không có trong sổ khen thưởng{why} "
                        "(Luật TĐKT Điều 89).",
                        "The title {title} for {year} is not in the award register{why} (Law Art. 89)."),
    "decision_document_required": ("Danh hiệu {title} năm {year} do cấp trên quyết định: cần kèm quyết định "
                                   "khen thưởng (quyet_dinh) trong hồ sơ.",
                                   "The title {title} for {year} was decided centrally: the dossier needs "
                                   "its decision (quyet_dinh)."),
    "declared_before_register": ("Danh hiệu {title} năm {year} có trước năm đầu của sổ khen thưởng: "
                                 "ghi nhận theo kê khai của đơn vị.",
                                 "The title {title} for {year} predates the award register: taken as "
                                 "declared by the unit."),
}


def unmet(code: str, **params) -> dict:
    """One unmet criterion: ``{"code", "message" (Vietnamese), "message_en"}``."""
    vi, en = TEXTS[code]
    return {"code": code, "message": vi.format(**params), "message_en": en.format(**params)}
