"""Writes the document templates (``templates/*.docx``) that review fills with docxtpl.

Run ``python -m services.review.documents.make_templates`` after changing this file and commit both: the
script is what a reviewer reads, the .docx files are what an office may replace with its own (keeping
the ``{{ ... }}`` fields and ``{%tr ... %}`` rows). Layout per NĐ 30/2020/NĐ-CP Annex I: A4, margins
top/bottom 20 mm, left 30 mm, right 15 mm, Times New Roman (LibreOffice uses the metric-compatible
Liberation Serif or Tinos) 13-14 pt; the national emblem lines on the right, the issuing body on the
left. The files are written reproducibly (fixed dates in the package), so re-running changes nothing.

Long because it lays out three documents paragraph by paragraph, in the order an office reads them.
"""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from services.review.documents.render import reproducible

HERE = Path(__file__).parent / "templates"
FONT, SIZE = "Times New Roman", 13
FIXED = datetime(2026, 1, 1)
CENTER, LEFT, JUSTIFY = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.JUSTIFY


def new_document(landscape: bool = False) -> Document:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(SIZE)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    style.paragraph_format.space_after = Pt(3)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    props = doc.core_properties
    props.author = props.last_modified_by = "tdkt"
    props.created = props.modified = FIXED
    props.revision = 1
    return doc


def para(doc_or_cell, text: str = "", bold=False, italic=False, align=JUSTIFY, size=SIZE, underline=False,
         indent=False):
    p = doc_or_cell.add_paragraph()
    p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Mm(10)
    if text:
        run = p.add_run(text)
        run.bold, run.italic, run.underline, run.font.size = bold, italic, underline, Pt(size)
    return p


def header(doc, left_lines: list[tuple[str, bool]], number: str, date_line: str = "{{ date_line }}"):
    """Issuing body (left) and the national emblem lines (right), NĐ 30/2020 Annex I."""
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_widths(table, [68, 97])
    left, right = table.rows[0].cells
    left.paragraphs[0].text = ""
    first = True
    for text, bold in left_lines:
        p = left.paragraphs[0] if first else left.add_paragraph()
        first = False
        p.alignment = CENTER
        run = p.add_run(text)
        run.bold, run.font.size = bold, Pt(12 if not bold else 13)
    para(left, "―――――", align=CENTER, size=10)
    para(left, number, align=CENTER)
    r0 = right.paragraphs[0]
    r0.alignment = CENTER
    run = r0.add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    run.bold, run.font.size = True, Pt(12)
    para(right, "Độc lập - Tự do - Hạnh phúc", bold=True, align=CENTER, size=13)
    para(right, "―――――――――――", align=CENTER, size=10)
    para(right, date_line, italic=True, align=CENTER)
    para(doc, "")


def each_line(doc, name: str, text: str, **style):
    """One paragraph per line of the list ``name`` (docxtpl's paragraph loop)."""
    para(doc, f"{{%p for line in {name} %}}")
    para(doc, text, **style)
    para(doc, "{%p endfor %}")


def loop_table(doc, headings: list[str], cells: list[str], loop: str, widths: list[int], total: list[str] | None = None,
               cell_size: int = 12):
    """A table whose middle row repeats once per item (docxtpl ``{%tr for ... %}``)."""
    table = doc.add_table(rows=4 + (1 if total else 0), cols=len(headings))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, heading in enumerate(headings):
        cell = table.rows[0].cells[i]
        cell.paragraphs[0].alignment = CENTER
        run = cell.paragraphs[0].add_run(heading)
        run.bold, run.font.size = True, Pt(cell_size)
    table.rows[1].cells[0].paragraphs[0].add_run("{%tr for it in " + loop + " %}")
    for i, text in enumerate(cells):
        cell = table.rows[2].cells[i]
        cell.paragraphs[0].alignment = LEFT if i in (1, 3) else CENTER
        cell.paragraphs[0].add_run(text).font.size = Pt(cell_size)
    table.rows[3].cells[0].paragraphs[0].add_run("{%tr endfor %}")
    if total:
        for i, text in enumerate(total):
            run = table.rows[4].cells[i].paragraphs[0].add_run(text)
            run.bold, run.font.size = True, Pt(12)
            table.rows[4].cells[i].paragraphs[0].alignment = CENTER if i != 1 else LEFT
    set_widths(table, widths)
    return table


def set_widths(table, widths_mm: list[float]):
    """Fixed column widths, in the grid LibreOffice reads and in every cell Word reads."""
    table.autofit = False
    for column, width in zip(table.columns, widths_mm):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm):
            cell.width = Mm(width)


def signatures(doc, left_title: str, left_name: str, right_title: str, right_name: str):
    """Two signature blocks (minutes: the secretary and the chair)."""
    table = doc.add_table(rows=1, cols=2)
    set_widths(table, [80, 85])
    for cell, title, name in zip(table.rows[0].cells, (left_title, right_title), (left_name, right_name)):
        cell.paragraphs[0].alignment = CENTER
        cell.paragraphs[0].add_run(title).bold = True
        para(cell, "(Ký, ghi rõ họ tên)", italic=True, align=CENTER)
        for _ in range(3):
            para(cell, "", align=CENTER)
        para(cell, name, bold=True, align=CENTER)


def recipients_and_signer(doc, recipients: list[str], signer_title: str):
    """NĐ 30/2020: "Nơi nhận" (12 pt bold italic, the list in 11 pt) on the left, the signer on the right."""
    table = doc.add_table(rows=1, cols=2)
    set_widths(table, [80, 85])
    left, right = table.rows[0].cells
    run = left.paragraphs[0].add_run("Nơi nhận:")
    run.bold, run.italic, run.font.size = True, True, Pt(12)
    for line in recipients:
        para(left, line, align=LEFT, size=11)
    right.paragraphs[0].alignment = CENTER
    right.paragraphs[0].add_run(signer_title).bold = True
    para(right, "(Ký, ghi rõ họ tên, đóng dấu)", italic=True, align=CENTER)


def minutes() -> Document:
    doc = new_document()
    header(doc, [("{{ body_upper }}", False), ("{{ council_name_upper }}", True)],
           "Số: {{ number }}/BB-HĐTĐKT")
    para(doc, "BIÊN BẢN", bold=True, align=CENTER, size=14)
    para(doc, "Họp {{ council_name }} xét đề nghị khen thưởng", bold=True, align=CENTER, size=14)
    para(doc, "(Phiên họp {{ sitting_id }})", italic=True, align=CENTER)
    para(doc, "Thời gian: từ {{ started }} đến {{ closed }}.", indent=True)
    para(doc, "Địa điểm: {{ place }}.", indent=True)
    para(doc, "Chủ trì: {{ chair }}, Chủ tịch Hội đồng. Thư ký: {{ secretary }}.", indent=True)
    para(doc, "I. THÀNH PHẦN", bold=True)
    para(doc, "Tổng số thành viên Hội đồng: {{ members_total }}; có mặt và bỏ phiếu: {{ present }}; vắng mặt "
              "có ý kiến bằng văn bản: {{ written }}; vắng mặt không có ý kiến: {{ absent }}. "
              "Số thành viên tham gia: {{ participants }}/{{ members_total }} ({{ participation_share }}); "
              "{{ quorum_text }}", indent=True)
    para(doc, "{%p for m in roster %}")
    para(doc, "{{ m.no }}. {{ m.name }} – {{ m.role }}: {{ m.attendance }}.", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "II. NỘI DUNG VÀ HÌNH THỨC", bold=True)
    para(doc, "Hội đồng xem xét {{ items_count }} hồ sơ đề nghị khen thưởng. Hình thức biểu quyết: bỏ phiếu kín. "
              "Tỷ lệ phiếu đồng ý được tính trên tổng số thành viên Hội đồng, không phải trên số thành viên có "
              "mặt (Nghị định {{ decree }}, Điều 30 khoản 7).", indent=True)
    para(doc, "III. KẾT QUẢ BỎ PHIẾU", bold=True)
    loop_table(doc, ["TT", "Người / tập thể được đề nghị", "Danh hiệu, hình thức", "Đơn vị", "Đồng ý",
                     "Không đồng ý", "Không biểu quyết", "Tỷ lệ đồng ý", "Ngưỡng áp dụng", "Kết quả"],
               ["{{ it.no }}", "{{ it.name }}", "{{ it.award }}", "{{ it.unit }}", "{{ it.approve }}",
                "{{ it.reject }}", "{{ it.abstain }}", "{{ it.share }}", "{{ it.threshold }}", "{{ it.outcome }}"],
               "items", [7, 33, 22, 18, 12, 13, 13, 15, 17, 15], cell_size=11)
    para(doc, "")
    para(doc, "IV. CHỈ TIÊU VÀ QUYẾT ĐỊNH CỦA CHỦ TỊCH HỘI ĐỒNG KHI BẰNG PHIẾU", bold=True)
    each_line(doc, "cutoffs", "– {{ line }}", indent=True)
    para(doc, "V. KẾT QUẢ LẤY Ý KIẾN CÔNG KHAI (Nghị định {{ decree }}, Điều 46)", bold=True)
    para(doc, "{{ public_comment }}", indent=True)
    each_line(doc, "public_comment_lines", "– {{ line }}", indent=True)
    para(doc, "VI. ĐỐI CHIẾU VỚI CƠ SỞ DỮ LIỆU KHEN THƯỞNG (Luật Thi đua, khen thưởng, Điều 89)", bold=True)
    each_line(doc, "register_notes", "– {{ line }}", indent=True)
    para(doc, "VII. KẾT LUẬN", bold=True)
    para(doc, "{{ conclusion }}", indent=True)
    para(doc, "Phiên họp kết thúc lúc {{ closed }}. Biên bản được lập thành 02 bản và được các thành viên "
              "dự họp thông qua.", indent=True)
    para(doc, "")
    signatures(doc, "THƯ KÝ HỘI ĐỒNG", "{{ secretary_signature }}", "CHỦ TỊCH HỘI ĐỒNG", "{{ chair }}")
    return doc


def proposal() -> Document:
    doc = new_document()
    header(doc, [("{{ parent_body_upper }}", False), ("{{ body_upper }}", True)], "Số: {{ number }}/TTr-{{ body_code }}")
    para(doc, "TỜ TRÌNH", bold=True, align=CENTER, size=14)
    para(doc, "Về việc đề nghị khen thưởng", bold=True, align=CENTER, size=14)
    para(doc, "Kính gửi: {{ addressee }}.", align=CENTER)
    each_line(doc, "basis", "{{ line }};", italic=True, indent=True)
    para(doc, "Căn cứ kết quả họp {{ council_name }} ngày {{ sitting_date }} (Biên bản số {{ number }}/BB-HĐTĐKT),",
         italic=True, indent=True)
    para(doc, "{{ body }} kính trình {{ addressee }} xem xét, {{ request }} cho {{ individuals }} cá nhân và "
              "{{ collectives }} tập thể, cụ thể:", indent=True)
    para(doc, "{%p for g in groups %}")
    para(doc, "– {{ g.award }}: {{ g.count }} ({{ g.individuals }} cá nhân, {{ g.collectives }} tập thể); "
              "loại hình khen thưởng: {{ g.kind }}; căn cứ {{ g.basis }}.", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "(Có danh sách và hồ sơ kèm theo: báo cáo thành tích, biên bản họp Hội đồng Thi đua – Khen thưởng "
              "và kết quả bỏ phiếu.)", italic=True, indent=True)
    para(doc, "{{ body }} kính trình {{ addressee }} xem xét, quyết định./.", indent=True)
    para(doc, "")
    recipients_and_signer(doc, ["– Như trên;", "– Lưu: VT, TĐKT."], "{{ signer_title }}")
    para(doc, "").add_run().add_break(WD_BREAK.PAGE)
    para(doc, "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG", bold=True, align=CENTER, size=14)
    para(doc, "(Kèm theo Tờ trình số {{ number }}/TTr-{{ body_code }} ngày {{ date_short }} của {{ body }})",
         italic=True, align=CENTER)
    loop_table(doc, ["TT", "Họ và tên / Tên tập thể", "Chức vụ", "Đơn vị", "Hình thức đề nghị", "Đồng ý / tổng số"],
               ["{{ it.no }}", "{{ it.name }}", "{{ it.position }}", "{{ it.unit }}", "{{ it.award }}",
                "{{ it.votes }}"], "items", [10, 42, 20, 33, 38, 22])
    return doc


def decision() -> Document:
    doc = new_document()
    header(doc, [("{{ parent_body_upper }}", False), ("{{ body_upper }}", True)], "Số: {{ number }}/QĐ-{{ body_code }}")
    para(doc, "QUYẾT ĐỊNH", bold=True, align=CENTER, size=14)
    para(doc, "Về việc khen thưởng (DỰ THẢO)", bold=True, align=CENTER, size=14)
    para(doc, "{{ signer_title_upper }}", bold=True, align=CENTER, size=14)
    each_line(doc, "basis", "{{ line }};", italic=True, indent=True)
    para(doc, "Xét đề nghị của {{ council_name }} tại phiên họp ngày {{ sitting_date }},", italic=True, indent=True)
    para(doc, "QUYẾT ĐỊNH:", bold=True, align=CENTER, size=14)
    para(doc, "Điều 1. Tặng danh hiệu, hình thức khen thưởng cho {{ individuals }} cá nhân và {{ collectives }} "
              "tập thể có tên trong danh sách kèm theo:", indent=True)
    para(doc, "{%p for g in groups %}")
    para(doc, "– {{ g.award }}: {{ g.count }}.", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "Điều 2. Kèm theo danh hiệu, hình thức khen thưởng là tiền thưởng theo Nghị định {{ decree }} "
              "(hệ số nhân với mức lương cơ sở {{ base_salary }} đồng, {{ base_salary_source }}, làm tròn lên "
              "hàng chục nghìn đồng); tổng cộng {{ total }} đồng, chi từ quỹ thi đua, khen thưởng của "
              "{{ body }}. {{ money_note }}", indent=True)
    para(doc, "Điều 3. Quyết định có hiệu lực kể từ ngày ký. Chánh Văn phòng, Thủ trưởng các đơn vị có liên quan "
              "và các cá nhân, tập thể có tên tại Điều 1 chịu trách nhiệm thi hành Quyết định này./.", indent=True)
    para(doc, "")
    recipients_and_signer(doc, ["– Như Điều 3;", "– Lưu: VT, TĐKT."], "{{ signer_title_upper }}")
    para(doc, "").add_run().add_break(WD_BREAK.PAGE)
    para(doc, "DANH SÁCH KHEN THƯỞNG", bold=True, align=CENTER, size=14)
    para(doc, "(Kèm theo Quyết định số {{ number }}/QĐ-{{ body_code }} ngày {{ date_short }} của {{ signer_title }})",
         italic=True, align=CENTER)
    loop_table(doc, ["TT", "Họ và tên / Tên tập thể", "Chức vụ", "Đơn vị", "Danh hiệu, hình thức", "Tiền thưởng (đồng)"],
               ["{{ it.no }}", "{{ it.name }}", "{{ it.position }}", "{{ it.unit }}", "{{ it.award }}",
                "{{ it.money }}"], "items", [10, 40, 18, 32, 38, 27],
               total=["", "Tổng cộng", "", "", "{{ items|length }}", "{{ total }}"])
    return doc


def write_all(directory: Path = HERE) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in (("minutes", minutes), ("proposal", proposal), ("decision", decision)):
        buffer = io.BytesIO()
        build().save(buffer)
        path = directory / f"{name}.docx"
        path.write_bytes(reproducible(buffer.getvalue()))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path)
