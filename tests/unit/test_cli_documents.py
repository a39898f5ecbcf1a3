"""``tdkt sitting documents``: which documents it asks review for and the files it writes (through a fake
proxy: the broker is not what these tests are about)."""
import base64

import pytest
from click.testing import CliRunner

from shared.cli.commands import main
from shared.contract.errors import Conflict

LISTING = [{"kind": "minutes", "formats": ["docx", "pdf"]}, {"kind": "decision", "formats": ["docx", "pdf"]}]


class FakeDocuments:
    def __init__(self, listings):
        self.listings, self.calls = list(listings), []

    def __call__(self, amqp_uri, context_data=None, timeout=None):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    @property
    def review(self):
        return self

    def sitting_documents(self, sitting_id):
        self.calls.append(("sitting_documents", sitting_id))
        answer = self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def render_sitting_documents(self, sitting_id):
        self.calls.append(("render_sitting_documents", sitting_id))
        return [{"kind": "minutes", "formats": [], "status": "pending"}]

    def sitting_document(self, sitting_id, kind, fmt):
        self.calls.append(("sitting_document", sitting_id, kind, fmt))
        return {"filename": f"../{kind}-{sitting_id}.{fmt}", "content_type": "x",
                "content_base64": base64.b64encode(f"{kind} {fmt}".encode()).decode()}


@pytest.fixture
def fake(monkeypatch):
    def install(*listings):
        fake = FakeDocuments(listings)
        monkeypatch.setattr("shared.platform.client.rpc_proxy", fake)
        return fake
    return install


def tdkt(*args):
    return CliRunner().invoke(main, list(args), env={"TDKT_ADMIN_TOKEN": "operator-token-0123456789"},
                              prog_name="tdkt")


def test_every_document_in_both_formats_is_written_to_the_directory_and_no_path_the_answer_names(fake, tmp_path):
    calls = fake(LISTING).calls
    result = tdkt("sitting", "documents", "s-1", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "decision-s-1.docx", "decision-s-1.pdf", "minutes-s-1.docx", "minutes-s-1.pdf"]
    assert (tmp_path / "out" / "minutes-s-1.pdf").read_text() == "minutes pdf"
    assert not (tmp_path / "minutes-s-1.pdf").exists()  # "../" in the answer is not followed
    assert calls[0] == ("sitting_documents", "s-1")


def test_kind_and_format_options_choose_what_is_fetched(fake, tmp_path):
    calls = fake(LISTING).calls
    result = tdkt("sitting", "documents", "s-1", "--kind", "minutes", "--pdf", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert calls[1:] == [("sitting_document", "s-1", "minutes", "pdf")]


def test_a_kind_the_sitting_does_not_have_is_one_clear_error(fake, tmp_path):
    fake(LISTING)
    result = tdkt("sitting", "documents", "s-1", "--kind", "proposal", "--lang", "en", "-o", str(tmp_path))
    assert result.exit_code == 1 and "Sitting s-1 has no proposal document" in result.output


def test_documents_still_rendering_are_waited_for(fake, tmp_path):
    pending = [{"kind": "minutes", "formats": []}]
    calls = fake(pending, LISTING).calls
    result = tdkt("sitting", "documents", "s-1", "--docx", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert [c[0] for c in calls] == ["sitting_documents", "sitting_documents", "sitting_document", "sitting_document"]


def test_an_open_sitting_is_reported_and_nothing_written(fake, tmp_path):
    fake(Conflict("sitting 's-1' is open: its documents are made when it closes"))
    result = tdkt("sitting", "documents", "s-1", "-o", str(tmp_path / "out"))
    assert result.exit_code == 1 and not (tmp_path / "out").exists()


def test_again_asks_review_to_make_them_again_before_fetching(fake, tmp_path):
    calls = fake(LISTING).calls
    result = tdkt("sitting", "documents", "s-1", "--again", "--kind", "minutes", "--docx", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert calls == [("render_sitting_documents", "s-1"), ("sitting_documents", "s-1"),
                     ("sitting_document", "s-1", "minutes", "docx")]
