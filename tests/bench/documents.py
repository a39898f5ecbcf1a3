"""The documents of a 1,000-item ministry sitting: how long the DOCX and the PDF take and how much memory
the service's part (docxtpl) and LibreOffice need (``make bench-documents``; ``--items N``).

Prints one table and writes ``var/bench/documents.json``. The facts are made here (the database read
is measured by the year-end benchmark); the rendering is the real one: the repository's templates,
docxtpl, LibreOffice headless converting the sitting's documents in one batch.
"""
from __future__ import annotations

import argparse
import io
import json
import resource
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pypdf import PdfReader

from services.review.documents import content
from services.review.documents.render import Converter, fill
from shared.law.rulesets import by_id

VN = timezone(timedelta(hours=7))
AWARDS = [("CSTD_BO", "approved", "individual"), ("BK_BO", "approved", "individual"),
          ("TTLDXS", "approved", "collective"), ("CO_BO", "approved", "collective"),
          ("CSTD_TQ", "proposed", "individual"), ("BK_TTG", "proposed", "individual"),
          ("HCLD3", "proposed", "collective"), ("BK_BO", "rejected", "individual")]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
GIVEN = ["Thị Hương", "Văn Đức", "Thị Ánh", "Quốc Việt", "Minh Châu", "Thu Thủy", "Hữu Nghĩa", "Ngọc Ánh"]


def ministry_facts(items: int, members: int = 15) -> dict:
    rule_set = by_id("nd152-2025")
    units = {f"u{n:02d}": f"Cục Quản lý số {n}" for n in range(1, 13)}
    rows = []
    for n in range(items):
        code, outcome, kind = AWARDS[n % len(AWARDS)]
        approve = members - (n % 3) if outcome != "rejected" else members // 2
        name = f"{SURNAMES[n % 10]} {GIVEN[n % 8]} {n}" if kind == "individual" else f"Phòng Nghiệp vụ {n}"
        rows.append({"nomination_id": f"n-{n:05d}", "award_code": code, "award_year": 2025, "approve": approve,
                     "reject": members - approve, "abstain": 0, "required": 14 if code.startswith("CSTD") else 8,
                     "outcome": outcome, "reasons": [], "nominee": {"kind": kind, "name": name},
                     "unit_id": f"u{n % 12 + 1:02d}", "rule_set": rule_set})
    roster = [{"member_id": f"m-{i}", "name": f"Thành viên Hội đồng {i}", "role": "chair" if i == 1 else "member",
               "voted": True, "written_opinion": i == members} for i in range(1, members + 1)]
    return {"sitting": {"id": "bench-ministry", "council_id": "hd-bo", "stage": "ministry", "status": "closed",
                        "members_total": members, "quorum_met": True, "chair_choices": None,
                        "convened_at": datetime(2025, 12, 1, 8, 0, tzinfo=VN),
                        "closed_at": datetime(2025, 12, 5, 17, 0, tzinfo=VN)},
            "council": {"id": "hd-bo", "name": "Hội đồng Thi đua – Khen thưởng Bộ", "level": "ministry", "unit_id": "bo"},
            "body": {"id": "bo", "name": "Bộ Nông nghiệp và Môi trường", "parent": None}, "parent": None,
            "roster": roster, "items": rows, "unit_names": {**units, "bo": "Bộ Nông nghiệp và Môi trường"}}


def run(items: int) -> dict:
    facts = ministry_facts(items)
    tracemalloc.start()
    began = time.perf_counter()
    docx = {kind: fill(kind, content.BUILDERS[kind](facts)) for kind in content.kinds_of(facts)}
    docx_seconds = time.perf_counter() - began
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    converter = Converter()
    try:
        converter.to_pdf({"warm": fill("minutes", content.minutes(ministry_facts(1)))})  # a profile's first start
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        began = time.perf_counter()
        pdf = converter.to_pdf(docx)
        pdf_seconds = time.perf_counter() - began
    finally:
        converter.close()
    soffice_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"items": items, "kinds": list(docx), "docx_seconds": round(docx_seconds, 2),
            "pdf_seconds": round(pdf_seconds, 2), "python_peak_mib": round(python_peak / 2**20, 1),
            "process_max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "soffice_max_rss_mib": round(soffice_rss / 1024, 1),
            "soffice_max_rss_before_mib": round(children_before / 1024, 1),
            "pages": {k: len(PdfReader(io.BytesIO(v)).pages) for k, v in pdf.items()},
            "docx_kib": {k: len(v) // 1024 for k, v in docx.items()},
            "pdf_kib": {k: len(v) // 1024 for k, v in pdf.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    result = run(parser.parse_args(argv).items)
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "documents.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    for key, value in result.items():
        print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
