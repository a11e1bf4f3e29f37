"""The sample knowledge base shipped in knowledge/: loads cleanly, its FAQ answers rest on
articles that exist, versions and disclosure are marked as the README says."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import pytest

from indexer.build import chunks_of
from indexer.chunking import SEP
from indexer.knowledge import load_knowledge
from indexer.models import Disclosure, Document, Kind, KnowledgeBase, Status
from indexer.readers import split_front_matter
from tests.conftest import KNOWLEDGE, SHARED, WITHHELD_MARKER

WITHHELD = "policies/samples/示例-财政监督检查内部工作方案-2021.md"
NOTICE_ID = "泰财办〔2021〕2号-关于做好新形势下财政工作政务公开的通知"
_ARTICLE = re.compile(r"^第[零〇一二三四五六七八九十百千\d]+条")


@cache
def kb() -> KnowledgeBase:
    return load_knowledge(KNOWLEDGE)


def _docs() -> dict[str, Document]:
    return {d.meta.id: d for d in kb().documents}


def test_loads_without_errors_or_warnings() -> None:
    errors = [(p.path, p.reason) for p in kb().problems if p.fatal]
    assert errors == []
    warnings = [(p.path, p.reason) for p in kb().problems if not p.fatal]
    assert warnings == []


def test_contents() -> None:
    docs = _docs()
    laws = [d for d in docs.values() if d.path.startswith("policies/laws/")]
    assert len(laws) == 64
    assert all(d.meta.disclosure == Disclosure.PUBLIC for d in laws)
    interpretations = [d for d in docs.values() if d.meta.kind == Kind.INTERPRETATION]
    assert len(interpretations) >= 6
    for doc in interpretations:
        assert doc.meta.interprets in docs, doc.meta.id
    assert len({d.path for d in docs.values()}) == len(docs)


def test_notice_metadata_comes_from_its_text() -> None:
    notice = _docs()[NOTICE_ID]
    assert notice.meta.doc_no == "泰财办〔2021〕2号"
    assert notice.meta.issued_on == "2021-06-15"
    assert notice.meta.issuer == "泰安市财政局"
    assert notice.meta.disclosure == Disclosure.PUBLIC
    assert notice.meta.disclosure_source == "text"


def test_accounting_law_versions() -> None:
    docs = _docs()
    old, new = docs["会计法-2017"].meta, docs["会计法-2024"].meta
    assert old.status == Status.AMENDED
    assert old.superseded_by == "会计法-2024"
    assert not old.is_current
    assert new.status == Status.CURRENT and new.superseded_by is None and new.is_current
    for meta in (m.meta for m in docs.values()):
        if meta.superseded_by:
            assert meta.superseded_by in docs and docs[meta.superseded_by].meta.is_current


def test_disclosure_samples() -> None:
    skipped = {s.path: s.reason for s in kb().skipped}
    assert skipped == {WITHHELD: "公开属性为不予公开"}
    assert WITHHELD_MARKER in (KNOWLEDGE / WITHHELD).read_text("utf-8")
    assert all(WITHHELD_MARKER not in d.text for d in kb().documents)
    on_request = _docs()["示例-泰财绩〔2021〕5号"]
    assert on_request.meta.disclosure == Disclosure.ON_REQUEST
    assert on_request.meta.apply_note
    [chunk] = chunks_of(on_request)
    assert chunk.text.startswith("《（示例）") and "评价采取单位自评" not in chunk.text


def _article_found(doc: Document, article: str) -> bool:
    """A law article is a line of the text starting with it; a notice reference such as
    ``二、（二）规范依申请公开工作`` names the heading path of one of the notice's chunks."""
    if _ARTICLE.match(article):
        return any(line.strip().startswith(article) for line in doc.text.splitlines())
    if article in doc.text:
        return True
    # The notice writes part 三's items with half-width brackets: compare width-folded.
    number, _, heading = unicodedata.normalize("NFKC", article).partition("、")
    for chunk in chunks_of(doc):
        path = unicodedata.normalize("NFKC", chunk.section).split(SEP)
        if path[0].startswith(number + "、") and path[-1] == heading:
            return True
    return False


def test_faq_entries_rest_on_existing_articles() -> None:
    docs = _docs()
    faqs = kb().faqs
    assert len(faqs) >= 40
    assert len({f.id for f in faqs}) == len(faqs)
    for faq in faqs:
        assert faq.sources, f"{faq.id} cites nothing"
        assert faq.question and faq.answer
        for source in faq.sources:
            doc = docs[source.doc_id]
            assert doc.meta.disclosure == Disclosure.PUBLIC
            if source.article:
                assert _article_found(doc, source.article), f"{faq.id}: {source}"
        # At least one cited article is given, so an answer can show where it comes from.
        assert any(s.article for s in faq.sources), faq.id


def test_faq_sources_are_current_law() -> None:
    docs = _docs()
    for faq in kb().faqs:
        for source in faq.sources:
            assert docs[source.doc_id].meta.is_current, f"{faq.id} cites {source.doc_id}"


def test_laws_are_the_shared_texts_verbatim() -> None:
    raw = SHARED / "knowledge" / "laws"
    if not raw.is_dir():
        pytest.skip(f"{raw} is absent: the raw laws live in ../shared beside the checkout")
    originals: dict[tuple[str, str], str] = {}
    for path in raw.glob("*.md"):
        m = re.fullmatch(r"[^_]+_(.+)\((\d{4}-\d{2}-\d{2})\)\.md", path.name)
        assert m, path.name
        originals[(m[1], m[2])] = path.read_text("utf-8")
    laws = sorted((KNOWLEDGE / "policies" / "laws").glob("*.md"))
    assert len(laws) == len(originals) == 64
    for path in laws:
        meta, body = split_front_matter(path.read_text("utf-8"))
        key = (path.stem.rsplit("-", 1)[0], str(meta["issued_on"]))
        assert key in originals, path.name
        assert body == originals[key], f"{path.name} differs from ../shared"
