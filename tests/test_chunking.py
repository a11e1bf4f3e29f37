"""indexer.chunking on the real documents of the sample knowledge base: laws are cut along
章/节/条, the notice along 一、/（一）, interpretation drafts along 问/答, and no chunk ever cuts a
sentence in half or loses one."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from indexer.chunking import SEP, chunk_document
from indexer.documents import load_document
from indexer.models import Chunk, Document, Kind
from indexer.sentences import MAX_EXCERPT, pack_sentences, split_sentences
from tests.conftest import KNOWLEDGE, SHARED

LAWS = KNOWLEDGE / "policies" / "laws"
NOTICE = "policies/notices/泰财办〔2021〕2号-关于做好新形势下财政工作政务公开的通知.txt"
ENDS = "。！？；!?;"
CLOSERS = "”’」』）)"
FINAL = (*ENDS, "：", ":", *CLOSERS)  # what a chunk that is not a whole article ends with
_ARTICLE = re.compile(r"^第[零〇一二三四五六七八九十百千\d]+条(?:之[一二三四五六七八九十]+)?")
_PART = re.compile(r"^#*\s*(第[零〇一二三四五六七八九十百千\d]+([编章节]))\s*(.*)$")


@cache
def _doc(rel: str) -> Document:
    return load_document(KNOWLEDGE / rel, KNOWLEDGE)


@cache
def _chunks(rel: str) -> tuple[Chunk, ...]:
    doc = _doc(rel)
    return tuple(chunk_document(doc.meta.id, doc.text, doc.meta.kind))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ---------------------------------------------------------------- an independent law parser


@dataclass
class Article:
    path: tuple[str, ...]  # e.g. ("第六章 质疑与投诉", "第五十二条")
    text: str  # the article's paragraphs, white space removed


def _articles(text: str) -> dict[str, Article]:
    """第N条 → its heading path and text, read line by line from the law's body."""
    body = text.split("<!-- INFO END -->", 1)[-1]
    heads: dict[str, str] = {}
    articles: dict[str, Article] = {}
    current: Article | None = None
    for raw in body.splitlines():
        line = raw.strip()
        if not line or line.startswith("<!--"):
            continue
        if m := _PART.match(line):
            level = m[2]
            for lower in "编章节"["编章节".index(level) :]:
                heads.pop(lower, None)
            heads[level] = " ".join(f"{m[1]} {m[3]}".split())
            current = None
            continue
        if line.startswith("#"):
            continue
        if m := _ARTICLE.match(line):
            path = (*(heads[k] for k in "编章节" if k in heads), m[0])
            current = articles[m[0]] = Article(path, "")
        if current is not None:
            current.text += _squash(line)
    return articles


def _tables(text: str) -> dict[str, tuple[str, list[str]]]:
    """Markdown pipe tables of a text: title (the line before) → (header, data rows), the cells
    of a line joined by " | "."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    tables: dict[str, tuple[str, list[str]]] = {}
    rows: list[str] | None = None
    for i, line in enumerate(lines):
        if not line.startswith("|"):
            rows = None
            continue
        cells = " | ".join(c.strip() for c in line.strip("|").split("|"))
        if rows is None:
            rows = []
            tables[lines[i - 1]] = (cells, rows)
        elif not set(cells) <= set("-: |"):
            rows.append(cells)
    return tables


def _text_chunks(rel: str) -> list[Chunk]:
    """The chunks of a document that are not chunks of its tables (rows or notes)."""
    titles = set(_tables(_doc(rel).text))
    return [c for c in _chunks(rel) if c.section.split(SEP)[0] not in titles]


LAW_FILES = sorted(p.relative_to(KNOWLEDGE).as_posix() for p in LAWS.glob("*.md"))
# One "regulation" is a State Council notice: no articles, 一、/（一） headings instead.
NOTICE_STYLE = "policies/laws/国务院关于外商投资企业和外国企业适用增值税、消费税、营业税等税收暂行条例有关问题的通知-1994.md"
ARTICLE_LAWS = [rel for rel in LAW_FILES if rel != NOTICE_STYLE]


def test_the_notice_style_regulation_is_chunked_as_a_notice() -> None:
    assert [rel for rel in LAW_FILES if len(_articles(_doc(rel).text)) < 2] == [NOTICE_STYLE]
    sections = list(dict.fromkeys(c.section.split(SEP)[0] for c in _chunks(NOTICE_STYLE)))
    assert sections[1:4] == [
        "一、关于外商投资企业和外国企业适用税种问题",
        "二、关于外商投资企业改征增值税、消费税、营业税后增加的税负处理问题",
        "三、关于中外合作开采石油资源的税收问题",
    ]
    text = "\n".join(c.text for c in _chunks(NOTICE_STYLE))
    for item in (
        "(一)国务院1993年12月12日发布的",
        "(六)营业税的退税问题",
        "(四)外商投资企业因税负增加",
    ):
        assert item in text, item  # one-sentence list items are text, not lost headings


@pytest.mark.parametrize("rel", ARTICLE_LAWS, ids=lambda r: Path(r).stem)
def test_law_chunks_follow_articles(rel: str) -> None:
    articles = _articles(_doc(rel).text)
    assert len(articles) >= 2
    chunks = _text_chunks(rel)
    for chunk in chunks:
        article = chunk.section.split(SEP)[-1]
        assert article in articles, f"{chunk.section!r} is not an article of the law"
        source = articles[article]
        assert chunk.section == SEP.join(source.path)
        text = _squash(chunk.text)
        # Part of exactly one article: articles are never merged.
        assert text in source.text, f"{chunk.section}: {chunk.text[:60]}"
        assert len(chunk.text) <= MAX_EXCERPT
        starts = [a for a in articles if a != article and articles[a].text[:24] in text]
        assert not starts, f"{chunk.section} also holds {starts}"
    # Nothing lost: every article is the section of at least one chunk, in the law's order.
    seen = list(dict.fromkeys(c.section.split(SEP)[-1] for c in chunks))
    assert seen == list(articles)
    for article in articles:
        first = next(c for c in chunks if c.section.split(SEP)[-1] == article)
        assert first.text.startswith(article)


def test_government_procurement_law() -> None:
    rel = "policies/laws/政府采购法-2014.md"
    chunks = _chunks(rel)
    articles = _articles(_doc(rel).text)
    assert len(articles) == 88
    by_section = {c.section: c for c in chunks}
    c52 = by_section["第六章 质疑与投诉 › 第五十二条"]
    assert c52.text.startswith("第五十二条 供应商认为采购文件、采购过程和中标、成交结果")
    assert "七个工作日内，以书面形式向采购人提出质疑。" in c52.text
    assert by_section["第一章 总则 › 第一条"].text.startswith("第一条 为了规范政府采购行为")
    for chunk in chunks:
        assert len(chunk.text) <= MAX_EXCERPT
        whole = _squash(chunk.text) == articles[chunk.section.split(SEP)[-1]].text
        assert whole or chunk.text.endswith(FINAL), f"{chunk.section} ends mid-sentence"
    # Long articles are split into overlapping windows that all keep the article's path.
    long_articles = [a for a, art in articles.items() if len(art.text) > MAX_EXCERPT]
    assert long_articles, "政府采购法 has articles longer than one excerpt"
    for article in long_articles:
        parts = [c for c in chunks if c.section.endswith(SEP + article)]
        assert len(parts) >= 2
        assert parts[0].text.startswith(article)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.parametrize(
    ("rel", "section", "next_chapter"),
    [
        (
            "policies/laws/企业国有资产法-2008.md",
            "第五章 关系国有资产出资人权益的重大事项 › 第一节 一般规定 › 第三十条",
            "第六章 国有资本经营预算 › 第五十八条",
        ),
        (
            "policies/laws/税收征收管理法-2015.md",
            "第二章 税务管理 › 第一节 税务登记 › 第十五条",
            "第三章 税款征收 › 第二十八条",
        ),
    ],
)
def test_section_headings_between_chapter_and_article(
    rel: str, section: str, next_chapter: str
) -> None:
    sections = [c.section for c in _chunks(rel)]
    assert section in sections
    # A 节 ends with its chapter: the next chapter's articles carry no stale 节.
    assert next_chapter in sections
    chapter = section.split(SEP)[0]
    in_chapter = [s for s in sections if s.startswith(chapter + SEP)]
    assert in_chapter and all(len(s.split(SEP)) == 3 for s in in_chapter)
    assert all("节" not in s.split(SEP)[1] for s in sections if s.startswith("第一章"))


def test_chunk_ids_are_stable_and_depend_on_the_text() -> None:
    doc = _doc("policies/laws/政府采购法-2014.md")
    first = chunk_document(doc.meta.id, doc.text, doc.meta.kind)
    again = chunk_document(doc.meta.id, doc.text, doc.meta.kind)
    assert [c.id for c in first] == [c.id for c in again]
    assert all(0 <= c.id < 2**63 for c in first)
    line = next(x for x in doc.text.splitlines() if x.startswith("第五十二条"))
    edited = doc.text.replace(line, line.replace("七个工作日内", "十个工作日内"))
    changed = chunk_document(doc.meta.id, edited, doc.meta.kind)
    differ = [a.section for a, b in zip(first, changed, strict=True) if a.id != b.id]
    assert differ == ["第六章 质疑与投诉 › 第五十二条"]


# ---------------------------------------------------------------- the notice


def test_notice_sections() -> None:
    chunks = _chunks(NOTICE)
    sections = list(dict.fromkeys(c.section for c in chunks))
    assert sections == [
        "正文",
        "一、不断加大主动公开力度 › （一）推进财政重点领域信息公开",
        "一、不断加大主动公开力度 › （二）强化行政权力运行公开",
        "一、不断加大主动公开力度 › （三）加大会议主动公开力度",
        "二、夯实政务公开工作基础 › （一）严格政务信息管理",
        "二、夯实政务公开工作基础 › （二）规范依申请公开工作",
        "二、夯实政务公开工作基础 › （三）加强政务信息公开专栏的优化建设",
        "三、加强政策解读和回应 › (一)加强政务信息解读",
        "三、加强政策解读和回应 › (二)积极创新政策解读方式",
        "三、加强政策解读和回应 › (三)及时回应社会关切",
        "四、积极推动政务公开工作创新发展",
        "五、建立政务公开联络员培训机制",
        "落款",
    ]
    by_section = {c.section: c for c in chunks}
    apply = by_section["二、夯实政务公开工作基础 › （二）规范依申请公开工作"]
    assert apply.text.startswith("（二）规范依申请公开工作。积极推进依申请公开标准化")
    assert apply.text.endswith("积极主动公开相关信息（各相关科室单位负责）。")
    assert by_section["落款"].text.split("\n") == [
        "泰安市财政局",
        "2021年6月15日",
        "信息公开选项：主动公开",
        "泰安市财政局办公室",
        "2021年6月15日印发",
    ]
    assert "关于做好新形势下财政工作政务公开的通知" in by_section["正文"].text
    assert all(len(c.text) <= MAX_EXCERPT for c in chunks)


def test_notice_broken_lines_are_rejoined() -> None:
    texts = [c.text for c in _chunks(NOTICE)]
    # The source breaks lines inside words: 定期公|布, 办公室牵|头, 财政对外公共服务科|负责, 政务微|博.
    for joined in (
        "定期公布资金发放统计数据",
        "办公室牵头，相关科室单位配合",
        "政务微博、微信等渠道",
    ):
        assert any(joined in t for t in texts), joined
    assert any("财政对外公共服务科负责)" in t for t in texts)
    for t in texts:
        assert not re.search(r"定期公\s|牵\s*$|政务微\s", t)
        assert not t.startswith(("布资金", "头，", "博、"))


# ---------------------------------------------------------------- interpretation drafts


INTERPRETATIONS = sorted(
    p.relative_to(KNOWLEDGE).as_posix() for p in (KNOWLEDGE / "interpretations").glob("*.md")
)


@pytest.mark.parametrize("rel", INTERPRETATIONS, ids=lambda r: Path(r).stem)
def test_interpretation_chunks_are_question_answer_pairs(rel: str) -> None:
    doc = _doc(rel)
    assert doc.meta.kind == Kind.INTERPRETATION
    paragraphs = [p.strip() for p in doc.text.split("\n") if p.strip()]
    pairs = [
        (q[2:].strip(), a[2:].strip())
        for q, a in zip(paragraphs, paragraphs[1:], strict=False)
        if q.startswith("问：") and a.startswith("答：")
    ]
    assert len(pairs) >= 5
    chunks = _chunks(rel)
    assert list(dict.fromkeys(c.section for c in chunks)) == [q for q, _ in pairs]
    for question, answer in pairs:
        mine = [c for c in chunks if c.section == question]
        if len(answer) <= MAX_EXCERPT:
            assert [c.text for c in mine] == [answer]
        else:
            assert answer.startswith(mine[0].text) and len(mine) >= 2


def test_interpretation_with_question_headings() -> None:
    text = (
        "# 政府采购质疑投诉解读\n\n"
        "## 什么情况下可以提出质疑？\n\n"
        "供应商认为采购文件、采购过程和中标、成交结果使自己的权益受到损害的，可以提出质疑。\n\n"
        "## 质疑的期限是多久？\n\n"
        "应当在知道或者应知其权益受到损害之日起七个工作日内提出。\n\n"
        "逾期提出的，采购人可以不予受理。\n"
    )
    chunks = chunk_document("解读", text, Kind.INTERPRETATION)
    assert [(c.section, c.text) for c in chunks] == [
        (
            "什么情况下可以提出质疑？",
            "供应商认为采购文件、采购过程和中标、成交结果使自己的权益受到损害的，可以提出质疑。",
        ),
        (
            "质疑的期限是多久？",
            "应当在知道或者应知其权益受到损害之日起七个工作日内提出。\n逾期提出的，采购人可以不予受理。",
        ),
    ]


# ---------------------------------------------------------------- notices written by hand


def test_one_sentence_items_are_kept() -> None:
    """List items that are one sentence, or end with ；, are text and must not be dropped."""
    text = (
        "关于做好专项资金绩效评价工作的通知\n\n"
        "各区县财政局：\n\n"
        "一、评价范围\n\n"
        "（一）市级财政专项资金；\n\n"
        "（二）转移支付资金。\n\n"
        "二、结果应用\n\n"
        "（一）将评价结果作为以后年度预算安排的重要参考，对评价结果较差的项目相应压减预算。\n\n"
        "（二）督促相关部门单位针对发现的问题限期整改，并将整改情况报送市财政局。\n\n"
        "泰安市财政局\n"
        "2021年12月20日\n"
    )
    chunks = chunk_document("通知", text, Kind.POLICY)
    joined = "\n".join(c.text for c in chunks)
    for item in (
        "（一）市级财政专项资金；",
        "（二）转移支付资金。",
        "（一）将评价结果作为以后年度预算安排的重要参考",
        "（二）督促相关部门单位针对发现的问题限期整改",
    ):
        assert item in joined, item
    sections = [c.section for c in chunks]
    assert any(s.startswith("二、结果应用 › （一）将评价结果") for s in sections)
    assert "一、评价范围" not in joined  # a heading is a path, not text
    assert sections[-1] == "落款"


# ---------------------------------------------------------------- whole sentences, nothing lost


def _public_documents() -> list[str]:
    rels = []
    for path in sorted(KNOWLEDGE.rglob("*")):
        rel = path.relative_to(KNOWLEDGE).as_posix()
        if path.suffix in {".md", ".txt"} and not rel.startswith("faq/") and "README" not in rel:
            rels.append(rel)
    return rels


DOCUMENTS = _public_documents()


def _lines(text: str) -> list[str]:
    """The source lines the chunker reads: a law's body without Markdown headings (its title and
    appendix-table headings), any other document whole; comments and blank lines dropped."""
    law = len(_articles(text)) >= 2
    body = text.split("<!-- INFO END -->", 1)[-1] if law else text
    lines = [line.strip() for line in body.splitlines()]
    return [
        line
        for line in lines
        if line
        and not line.startswith("<!--")
        and not (law and line.startswith("#"))
        and not line.startswith("|")  # table rows: see test_table_rows_are_chunks_with_header
    ]


_QA_PREFIX = re.compile(r"^(?:问|答|Q|A)[:：]")


def _source_and_boundaries(text: str) -> tuple[str, set[int]]:
    """The text without white space and the offsets where a sentence may start or end."""
    rejoins = len(_articles(text)) < 2  # only notices rejoin lines broken inside a sentence
    source, bounds = "", {0}
    for raw in _lines(text):
        line = _squash(raw)
        if m := _QA_PREFIX.match(line):
            bounds.add(len(source) + m.end())  # an answer's text starts after 答：
        for i, ch in enumerate(line):
            nxt = line[i + 1] if i + 1 < len(line) else ""
            if (ch in ENDS and nxt not in CLOSERS) or (ch in CLOSERS and i and line[i - 1] in ENDS):
                bounds.add(len(source) + i + 1)
        source += line
        broken = rejoins and len(line) >= 40 and line[-1].isalnum()
        if not broken:  # a long line ending inside a word continues on the next line
            bounds.add(len(source))
    bounds.add(len(source))
    return source, bounds


@pytest.mark.parametrize("rel", DOCUMENTS, ids=lambda r: Path(r).stem)
def test_chunks_are_whole_sentences_and_lose_nothing(rel: str) -> None:
    doc = _doc(rel)
    chunks = chunk_document(doc.meta.id, doc.text, doc.meta.kind)  # as if public
    source, bounds = _source_and_boundaries(doc.text)
    ordered = sorted(bounds)
    for chunk in chunks:
        if chunk.section in _tables(doc.text):
            continue  # a table row with its header: see test_table_rows_are_chunks_with_header
        text = _squash(chunk.text)
        starts = [m.start() for m in re.finditer(re.escape(text), source)]
        assert starts, f"{chunk.section}: text not found in the source: {chunk.text[:60]}"
        if any(s in bounds and s + len(text) in bounds for s in starts):
            continue
        # Only a sentence longer than an excerpt may be cut (at ，/；).
        s = starts[0]
        left = max(b for b in ordered if b <= s)
        right = min(b for b in ordered if b >= s + len(text))
        assert right - left > MAX_EXCERPT, f"{chunk.section} cuts a sentence: {chunk.text[:60]}"

    # Every sentence of the text is in some chunk (headings are in the section paths).
    chunk_text = "\n".join(_squash(c.text) for c in chunks)
    labels = "\n".join(_squash(c.section) for c in chunks)
    for line in _lines(doc.text):
        if _PART.match(line) or (doc.meta.kind == Kind.INTERPRETATION and line.startswith("#")):
            continue
        for sentence in split_sentences(_QA_PREFIX.sub("", line)):
            piece = _squash(sentence)[:MAX_EXCERPT]
            assert piece in chunk_text or piece in labels, f"lost: {sentence[:60]}"


@pytest.mark.parametrize("rel", DOCUMENTS, ids=lambda r: Path(r).stem)
def test_table_rows_are_chunks_with_header(rel: str) -> None:
    tables = _tables(_doc(rel).text)
    chunks = _chunks(rel)
    for title, (header, rows) in tables.items():
        texts = [c.text for c in chunks if c.section == title]
        assert texts == [f"{header}\n{row}" for row in rows], title


def test_income_tax_law_rate_tables() -> None:
    rel = "policies/laws/个人所得税法-2018.md"
    tables = _tables(_doc(rel).text)
    assert {title: len(rows) for title, (_, rows) in tables.items()} == {
        "个人所得税税率表一（综合所得适用）": 7,
        "个人所得税税率表二（经营所得适用）": 5,
    }
    by_section = {c.section: c.text for c in _chunks(rel)}
    assert by_section["第二十二条"] == "第二十二条 本法自公布之日起施行。"
    assert by_section["个人所得税税率表二（经营所得适用） › 注"].startswith(
        "（注：本表所称全年应纳税所得额"
    )


# ---------------------------------------------------------------- packing sentences


def test_pack_sentences_keeps_whole_sentences_and_overlaps() -> None:
    doc = _doc("policies/laws/政府采购法-2014.md")
    article = max((a.text for a in _articles(doc.text).values()), key=len)
    assert len(article) > MAX_EXCERPT
    sentences = split_sentences(article)
    windows = pack_sentences(article, limit=MAX_EXCERPT)
    assert len(windows) >= 2
    for window in windows:
        assert len(window) <= MAX_EXCERPT
        # Each window is a run of consecutive whole sentences.
        runs = [
            "".join(sentences[i:j])
            for i in range(len(sentences))
            for j in range(i + 1, len(sentences) + 1)
        ]
        assert window in runs
    for first, second in zip(windows, windows[1:], strict=False):
        assert split_sentences(second)[0] in split_sentences(first)  # overlap
    assert windows[0].startswith(sentences[0]) and windows[-1].endswith(sentences[-1])
    flat = pack_sentences(article, limit=MAX_EXCERPT, overlap=False)
    assert "".join(flat) == "".join(sentences)


def _long_sentences() -> list[str]:
    corpus = SHARED / "eval" / "policy-ncpqa-dev" / "corpus.jsonl"
    found = []
    if corpus.is_file():
        with corpus.open(encoding="utf-8") as f:
            for line in f:
                found += [s for s in split_sentences(json.loads(line)["text"]) if len(s) > 320]
                if len(found) >= 5:
                    break
    # Always one: a real article whose sentences are strung into one 700+ character sentence.
    articles = _articles(_doc("policies/laws/政府采购法-2014.md").text).values()
    longest = max((a.text for a in articles), key=len)
    found.append(re.sub("[。；]", "，", longest).rstrip("，") + "。")
    return found


def test_a_sentence_longer_than_an_excerpt_is_cut_at_clauses() -> None:
    for sentence in _long_sentences():
        assert len(sentence) > MAX_EXCERPT
        pieces = pack_sentences(sentence, limit=MAX_EXCERPT, overlap=False)
        assert len(pieces) >= 2
        assert all(len(p) <= MAX_EXCERPT for p in pieces)
        assert _squash("".join(pieces)) == _squash(sentence)
        # Offsets (white space removed) that follow white space in the sentence.
        spaces = {len(_squash(sentence[: m.end()])) for m in re.finditer(r"\S\s+", sentence)}
        cursor = 0
        for piece in pieces[:-1]:
            cursor += len(_squash(piece))
            # Cut after clause punctuation or at white space; a hard cut only for a clause that
            # is itself longer than an excerpt.
            at_clause = piece.endswith(("，", "、", "：", ",", ":")) or cursor in spaces
            assert at_clause or len(piece) == MAX_EXCERPT, piece[-20:]
