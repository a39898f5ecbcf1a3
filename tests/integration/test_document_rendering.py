"""A sitting's documents through the real adapters: docxtpl over the repository's templates, LibreOffice for
the PDF. Read back with python-docx and pdftotext (NFC), fonts checked with pdffonts; the pages are kept as
PNG in var/artifacts/documents/ for a person to look at."""
import io
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from services.review.documents import content, jobs
from services.review.documents.render import Converter, RenderError, fill
from tests.documents_support import unit_sitting_facts

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "documents"
pytestmark = pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                                reason="LibreOffice and poppler-utils are installed by .ci/run and the Makefile")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return nfc("\n".join(parts))


def pdf_text(data: bytes) -> str:
    return nfc(subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
               .stdout.decode())


@pytest.fixture(scope="module")
def rendered():
    converter = Converter()
    try:
        files = jobs.render_all(unit_sitting_facts(), converter)
    finally:
        converter.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for (kind, fmt), data in files.items():
        path = ARTIFACTS / f"{kind}.{fmt}"
        path.write_bytes(data)
        if fmt == "pdf":
            subprocess.run(["pdftoppm", "-r", "80", "-png", str(path), str(ARTIFACTS / kind)], check=True)
    return files


def test_every_kind_the_sitting_has_comes_as_docx_and_pdf(rendered):
    assert sorted(rendered) == sorted((kind, fmt) for kind in ("minutes", "proposal", "decision")
                                      for fmt in ("docx", "pdf"))


def test_the_minutes_read_back_from_the_docx_and_the_pdf_name_the_council_date_and_every_vote(rendered):
    for text in (docx_text(rendered[("minutes", "docx")]), pdf_text(rendered[("minutes", "pdf")])):
        flat = " ".join(text.split())
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in flat and "Độc lập - Tự do - Hạnh phúc" in flat
        assert "Hội đồng Thi đua – Khen thưởng Văn phòng Bộ" in flat and "03/12/2025" in flat
        assert "bỏ phiếu kín" in flat and "Không áp dụng" in flat
        assert "Tổng số thành viên Hội đồng: 7; có mặt và bỏ phiếu: 5" in flat
        for name in ("Nguyễn Thị Hoà", "Trần Văn Khải", "Đỗ Thị Quyên", "Phòng Tổng hợp", "Lê Thị Ngọc Ánh"):
            assert name in flat


def test_each_row_of_the_docx_minutes_holds_the_counts_share_threshold_and_outcome(rendered):
    document = Document(io.BytesIO(rendered[("minutes", "docx")]))
    rows = {nfc(r.cells[1].text): [nfc(c.text) for c in r.cells] for r in document.tables[1].rows[1:]}
    assert rows["Trần Văn Khải"][4:] == ["5", "1", "0", "71,43%", "≥ 80% (cần 6/7)", "Không đạt"]
    assert rows["Nguyễn Thị Hoà"][4:] == ["6", "0", "0", "85,71%", "> 50% (cần 4/7)", "Đạt"]


def test_the_draft_decision_lists_the_money_in_docx_and_pdf(rendered):
    for text in (docx_text(rendered[("decision", "docx")]), pdf_text(rendered[("decision", "pdf")])):
        flat = " ".join(text.split())
        assert "QUYẾT ĐỊNH" in flat and "DANH SÁCH KHEN THƯỞNG" in flat
        for amount in ("710.000", "2.340.000", "1.880.000", "4.930.000"):
            assert amount in flat
        assert "Trần Văn Khải" not in flat  # rejected: not in the decision


def test_the_proposal_letter_cites_the_law_and_lists_what_goes_up(rendered):
    flat = " ".join(pdf_text(rendered[("proposal", "pdf")]).split())
    assert "TỜ TRÌNH" in flat and "Kính gửi: Bộ trưởng Bộ Nông nghiệp và Môi trường" in flat
    assert "khoản 1 Điều 74 Luật Thi đua, khen thưởng số 06/2022/QH15" in flat and "Lê Thị Ngọc Ánh" in flat


def test_the_pdfs_are_a4_with_every_font_embedded_and_a_times_compatible_serif(rendered):
    for kind in ("minutes", "proposal", "decision"):
        data = rendered[(kind, "pdf")]
        box = PdfReader(io.BytesIO(data)).pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
        path = ARTIFACTS / f"{kind}.pdf"
        lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
        assert lines and all(line.split()[-5] == "yes" for line in lines), lines  # the "emb" column
        assert all(any(f in line for f in ("LiberationSerif", "Tinos", "TimesNewRoman")) for line in lines), lines


def test_the_same_sitting_gives_the_same_docx_bytes():
    facts = unit_sitting_facts()
    assert fill("minutes", content.minutes(facts)) == fill("minutes", content.minutes(facts))


def test_without_libreoffice_a_render_fails_with_a_clear_error():
    converter = Converter(soffice="soffice-not-installed")
    with pytest.raises(RenderError, match="not found"):
        converter.to_pdf({"minutes": b""})
    converter.close()
