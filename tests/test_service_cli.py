"""The ``policyqa serve``, ``ask`` and ``eval`` commands, run as a user runs them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import KNOWLEDGE, SHARED, run_cli
from tests.served import free_port, serve

EVAL = SHARED / "eval"


_free_port = free_port  # other test modules import it from here


@contextmanager
def serving(index: Path, log_path: Path, *extra: str) -> Iterator[str]:
    """``policyqa serve`` on a free loopback port; yields its base URL once every worker is ready."""
    with serve(index, log_path, *extra) as served:
        yield served.base


def test_serve_answers_over_http(sample_index: Path, tmp_path: Path) -> None:
    with serving(sample_index, tmp_path / "serve.log") as base:
        r = httpx.post(
            f"{base}/api/v1/ask", json={"question": "政府采购可以采用哪些方式？"}, timeout=10
        )
        assert r.status_code == 200
        body = r.json()
        assert body["type"] == "faq"
        assert any(s["section"].endswith("第二十六条") for s in body["sources"])
        empty = httpx.post(f"{base}/api/v1/ask", json={"question": ""}, timeout=10)
        assert empty.status_code == 422


def test_two_workers_share_the_conversation(sample_index: Path, tmp_path: Path) -> None:
    def post(base: str, body: dict[str, str]) -> httpx.Response:
        # A new connection each time, so that either worker process may accept it.
        return httpx.post(f"{base}/api/v1/ask", json=body, timeout=30)

    with serving(sample_index, tmp_path / "serve.log", "--workers", "2") as base:
        ready: set[str] = set()
        deadline = time.monotonic() + 180
        while len(ready) < 2:  # each process loads the index on its own
            r = httpx.get(f"{base}/readyz", timeout=10)
            if r.status_code == 200:
                ready.add(r.headers["X-Policyqa-Worker"])
            assert time.monotonic() < deadline, "both workers did not become ready"
            time.sleep(0.05)
        fresh = post(base, {"question": "那怎么缴费？"}).json()

        def conversation(n: int) -> tuple[str, str, dict[str, object]]:
            first = post(base, {"question": "国库券的发行对象有哪些？"})
            session = first.json()["session_id"]
            follow = post(base, {"question": "那怎么缴费？", "session_id": session})
            assert follow.json()["session_id"] == session
            worker = "X-Policyqa-Worker"
            return first.headers[worker], follow.headers[worker], follow.json()

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(conversation, range(24)))
    workers = {w for first, follow, _ in results for w in (first, follow)}
    assert len(workers) == 2, "both worker processes answered"
    crossed = [body for first, follow, body in results if first != follow]
    assert crossed, "some follow-ups were answered by the other process"
    for _, _, body in results:
        assert body["sources"] != fresh["sources"]


def test_concurrent_questions_get_the_answers_they_get_alone(
    sample_index: Path, tmp_path: Path
) -> None:
    """Questions arriving together share one encoder batch in the server; each must still get the
    answer it gets when asked alone."""
    from service.engine import load_answerer

    questions = [
        "没中标，想对中标结果提质疑，要在几天内提？",
        "会计账簿要保存多少年",
        "个人所得税专项附加扣除有哪些",
        "政府采购合同要不要在网上公开",
        "预算调整需要谁批准",
        "审计机关可以查哪些单位",
        "灵活就业人员怎么交养老保险",
        "中标通知书发出后多少天内必须签合同",
        "今天天气怎么样",
        "小微企业参加政府采购要满足哪些条件",
        "国库券的发行对象有哪些？",
        "纳税人对税务机关的处罚决定不服怎么办",
    ]
    alone = load_answerer(sample_index)
    expected = []
    for question in questions:
        answer = alone.ask(question)
        expected.append((answer.type.value, [(s.doc_id, s.section) for s in answer.sources]))

    def ask(question: str) -> tuple[str, list[tuple[str, str]]]:
        body = client.post("/api/v1/ask", json={"question": question}).json()
        return body["type"], [(s["doc_id"], s["section"]) for s in body["sources"]]

    with (
        serving(sample_index, tmp_path / "serve.log", "--workers", "1") as base,
        httpx.Client(base_url=base, timeout=30) as client,
        ThreadPoolExecutor(max_workers=len(questions)) as pool,
    ):
        together = list(pool.map(ask, questions * 3))
    assert together == expected * 3
    assert {kind for kind, _ in expected} >= {"faq", "passage", "none"}


def test_serve_refuses_bad_workers(sample_index: Path) -> None:
    result = run_cli("serve", "--index", str(sample_index), "--workers", "0")
    assert result.returncode == 2 and "--workers" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("POLICYQA_ENCODE_SLOTS", "0", "应不小于 1"),
        ("POLICYQA_ENCODE_SLOTS", "two", "应为整数"),
        ("POLICYQA_RELOAD_SECONDS", "-5", "应大于 0"),
        ("POLICYQA_SESSION_TTL_SECONDS", "soon", "应为数字"),
    ],
)
def test_serve_refuses_bad_settings_naming_the_variable(
    sample_index: Path, variable: str, value: str, says: str
) -> None:
    result = run_cli("serve", "--index", str(sample_index), env={variable: value}, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "环境变量取值无效" in result.stderr
    assert f"{variable}='{value}'" in result.stderr and says in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_missing_index(tmp_path: Path) -> None:
    result = run_cli("serve", "--index", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "索引目录不存在" in result.stderr


def test_ask_prints_a_cited_answer(sample_index: Path) -> None:
    result = run_cli("ask", "个人所得税的基本减除费用是多少？", "--index", str(sample_index))
    assert result.returncode == 0, result.stderr
    assert "【常见问答】" in result.stdout and "《中华人民共和国个人所得税法》" in result.stdout
    result = run_cli("ask", "个税起征点", "--index", str(sample_index), "--json")
    body = json.loads(result.stdout)
    assert body["type"] == "faq" and body["sources"][0]["doc_id"] == "个人所得税法-2018"


def test_ask_with_bad_input(sample_index: Path, tmp_path: Path) -> None:
    result = run_cli("ask", "  ", "--index", str(sample_index))
    assert result.returncode == 2 and "不能为空" in result.stderr
    result = run_cli("ask", "个税", "--index", str(tmp_path))
    assert result.returncode == 2 and "没有可用的索引" in result.stderr


def _write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def _body(path: Path) -> str:
    return path.read_text("utf-8").split("---", 2)[2]


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset in the ../shared/eval format made from the sample knowledge base."""
    root = tmp_path_factory.mktemp("dataset")
    policy, oos = root / "policy", root / "oos"
    policy.mkdir()
    oos.mkdir()
    laws = KNOWLEDGE / "policies" / "laws"
    corpus = [
        {"id": name, "title": "", "text": _body(laws / f"{name}.md")}
        for name in ("政府采购法-2014", "预算法-2018", "契税法-2020", "国库券条例-2011")
    ]
    _write_jsonl(policy / "corpus.jsonl", corpus)
    _write_jsonl(
        policy / "faq.jsonl",
        [
            {
                "id": "f1",
                "question": "个人所得税起征点是多少",
                "variants": ["个税免征额多少"],
                "answer": "六万元",
            },
            {
                "id": "f2",
                "question": "社保包括哪些险种",
                "variants": ["社会保险有几种"],
                "answer": "五种",
            },
        ],
    )
    _write_jsonl(
        policy / "queries.jsonl",
        [
            {"id": "q1", "query": "个税的起征点是多少钱", "relevant": ["f1"]},
            {
                "id": "q2",
                "query": "供应商质疑的期限是几个工作日",
                "relevant": ["政府采购法-2014"],
                "answer": "七个工作日内",
            },
            {
                "id": "q3",
                "query": "契税的税率是多少",
                "relevant": ["契税法-2020"],
                "answer": "百分之三至百分之五",
            },
            {
                "id": "q4",
                "query": "国库券的发行对象",
                "relevant": ["国库券条例-2011"],
                "answer": "居民个人",
            },
        ],
    )
    _write_jsonl(
        oos / "queries.jsonl",
        [
            {"id": "o1", "query": "周杰伦的新歌叫什么", "relevant": []},
            {"id": "o2", "query": "怎么防止黑色衣服掉色？", "relevant": []},
        ],
    )
    return root


def test_eval_prints_one_json_object(small_dataset: Path) -> None:
    result = run_cli("eval", str(small_dataset / "policy"), str(small_dataset / "oos"), "--json")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    report = json.loads(lines[0])
    for key in (
        "queries",
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "in_scope_answer_rate",
        "out_of_scope_decline_rate",
        "latency_ms",
        "index_seconds",
    ):
        assert key in report
    assert report["queries"] == 6
    assert set(report["latency_ms"]) >= {"p50", "p99"}
    assert report["recall@10"] >= 0.75 and report["mrr@10"] > 0.5
    assert report["out_of_scope_decline_rate"] == 1.0
    assert report["in_scope_answer_rate"] >= 0.75


def test_eval_rejects_bad_datasets(tmp_path: Path) -> None:
    result = run_cli("eval", str(tmp_path / "missing"))
    assert result.returncode == 2 and "数据集目录不存在" in result.stderr
    (tmp_path / "queries.jsonl").write_text('{"id": "q1", "query": "x", "relevant": []}\n{oops\n')
    result = run_cli("eval", str(tmp_path))
    assert result.returncode == 2 and "queries.jsonl:2" in result.stderr
    (tmp_path / "queries.jsonl").write_text('{"id": "q1", "query": 5, "relevant": []}\n')
    result = run_cli("eval", str(tmp_path))
    assert result.returncode == 2 and "'query'" in result.stderr


# Baselines of ../shared/eval/README.md (best of BM25, dense and RRF for each task).
BASELINE = {"faq-bq-dev": (0.206, 0.328), "policy-ncpqa-dev": (0.458, 0.569)}
# Issue 12's done-when (docs/retrieval.md): answered_wrong at most half of never asking back
# (0.711, 0.446), answered_right + clarified_right at least never asking back's answered_right.
DONE_WHEN = {"faq-bq-dev": (0.355, 0.216), "policy-ncpqa-dev": (0.223, 0.511)}


@pytest.mark.eval
@pytest.mark.parametrize("dataset", sorted(BASELINE))
def test_dev_sets_beat_the_baselines_and_decline_out_of_scope(
    dataset: str, eval_indexes: Path
) -> None:
    if not (EVAL / dataset).is_dir():
        pytest.skip(f"{EVAL / dataset} is absent (a clone without ../shared)")
    index = ["--index-dir", str(eval_indexes / dataset)]
    result = run_cli(
        "eval", str(EVAL / dataset), str(EVAL / "oos-lcqmc-dev"), "--json", *index, timeout=1200
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    r1, mrr = BASELINE[dataset]
    assert report["recall@1"] > r1 and report["mrr@10"] > mrr, report
    assert report["out_of_scope_decline_rate"] >= 0.95, report
    assert report["out_of_scope"]["declined"] >= 0.95, report  # asked back is not declined
    # In scope, the service engages (an answer or a clarification) rather than declines, as
    # often as before ``clarify`` existed; and what it shows meets issue 12's done-when: at most
    # half the wrong answers of never asking back, and no fewer questions reaching the right one.
    shown = report["in_scope"]
    assert 1 - shown["declined"] >= 0.85, report
    wrong, reached = DONE_WHEN[dataset]
    assert shown["answered_wrong"] <= wrong, report
    assert shown["answered_right"] + shown["clarified_right"] >= reached, report
