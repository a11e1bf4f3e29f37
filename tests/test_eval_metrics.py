"""The evaluation's metric code (policyqa/evaluation/metrics.py) on hand-computed cases, and
``policyqa eval --json`` on a tiny dataset whose every figure is computed by hand below."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from indexer.models import FaqEntry, KnowledgeBase
from policyqa.evaluation.dataset import Dataset, Query
from policyqa.evaluation.metrics import (
    CurvePoint,
    Outcome,
    answer_rates,
    area_under,
    by_kind,
    citizen_rates,
    first_relevant,
    is_relevant,
    latency_figures,
    mrr,
    ranking_figures,
    rate,
    risk_at,
    risk_coverage,
    shown_right,
)
from policyqa.evaluation.run import _shown, summarise
from service.answering import Answer, AnswerType, Trace
from service.citations import Source
from tests.conftest import run_cli

FAQ_Q = Query("q1", "个税起征点", ("f1",), None)
TWO_FAQ_Q = Query("q2", "起征点和专项扣除", ("f1", "f2"), None)
PASSAGE_Q = Query("q3", "质疑期限", ("政府采购法",), "七个工作日")
DOC_Q = Query("q4", "政府采购法讲什么", ("政府采购法",), None)
OOS_Q = Query("o1", "周杰伦的新歌", (), None)


def faqs(*ids: str) -> list[tuple[str, str, str]]:
    return [("faq", i, "") for i in ids]


# ---- relevance and rank -------------------------------------------------------------------------


def test_relevance_of_an_item() -> None:
    assert is_relevant(FAQ_Q, ("faq", "f1", ""))
    assert not is_relevant(FAQ_Q, ("faq", "f2", ""))
    # An excerpt counts only when it is from a relevant document and holds the answer string.
    assert is_relevant(PASSAGE_Q, ("passage", "政府采购法", "应在七个工作日内提出"))
    assert not is_relevant(PASSAGE_Q, ("passage", "政府采购法", "第一条 为了规范"))
    assert not is_relevant(PASSAGE_Q, ("passage", "预算法", "七个工作日"))
    # Without an answer string any excerpt of a relevant document counts.
    assert is_relevant(DOC_Q, ("passage", "政府采购法", "第一条 为了规范"))
    # Empty relevance is out of scope: nothing is relevant to it.
    assert not is_relevant(OOS_Q, ("faq", "f1", ""))
    assert not is_relevant(OOS_Q, ("passage", "", ""))


def test_first_relevant_rank() -> None:
    assert first_relevant(FAQ_Q, faqs("f1", "f2")) == 1
    assert first_relevant(FAQ_Q, faqs("f3", "f2", "f1")) == 3
    # Two relevant entries (a tie in relevance): the first one found counts, once.
    assert first_relevant(TWO_FAQ_Q, faqs("f3", "f2", "f1")) == 2
    # Excerpts of the right document without the answer string do not count.
    ranking = [
        ("passage", "政府采购法", "第一条 为了规范"),
        ("passage", "预算法", "七个工作日"),
        ("passage", "政府采购法", "七个工作日内以书面形式提出质疑"),
    ]
    assert first_relevant(PASSAGE_Q, ranking) == 3
    assert first_relevant(DOC_Q, ranking) == 1


def test_first_relevant_without_results_or_relevance() -> None:
    assert first_relevant(FAQ_Q, []) is None  # no results
    assert first_relevant(FAQ_Q, faqs("f2", "f3")) is None  # nothing relevant
    assert first_relevant(OOS_Q, faqs("f1", "f2")) is None  # out of scope


def test_first_relevant_cut_off() -> None:
    tenth = faqs(*(f"x{i}" for i in range(9)), "f1")
    eleventh = faqs(*(f"x{i}" for i in range(10)), "f1")
    assert first_relevant(FAQ_Q, tenth) == 10
    assert first_relevant(FAQ_Q, eleventh) is None  # beyond the top 10
    assert first_relevant(FAQ_Q, faqs("x", "y", "f1"), depth=2) is None
    assert first_relevant(FAQ_Q, faqs("x", "y", "f1"), depth=3) == 3


# ---- rates -------------------------------------------------------------------------------------


def test_rate_and_mrr() -> None:
    assert rate([True, False, False]) == 0.3333
    assert rate([True, True, False]) == 0.6667
    assert rate([]) is None
    assert mrr([1, 2, None, 4]) == round((1 + 0.5 + 0 + 0.25) / 4, 4) == 0.4375
    assert mrr([1, 11]) == 0.5  # a rank beyond 10 adds nothing to MRR@10
    assert mrr([None, None]) == 0.0
    assert mrr([]) is None


def outcome(kind: str, rank: int | None, answered: bool, ms: float = 0.0) -> Outcome:
    query = OOS_Q if kind == "oos" else FAQ_Q if kind == "faq" else PASSAGE_Q
    return Outcome(query, kind, rank, answered, ms / 1000)


MIXED = [
    outcome("faq", 1, True, 10),
    outcome("faq", 1, True, 30),  # a tie with the first: both count at rank 1
    outcome("faq", 5, False, 20),
    outcome("passage", 6, True, 40),
    outcome("passage", None, True, 50),  # answered, but nothing relevant in the top 10
    outcome("oos", None, False, 60),
    outcome("oos", None, True, 70),  # an out-of-scope question that was answered
    outcome("oos", None, False, 80),
]


def test_ranking_figures_hand_computed() -> None:
    # In scope: ranks 1, 1, 5, 6, none (the out-of-scope questions are not ranked).
    assert ranking_figures(MIXED) == {
        "recall@1": 0.4,  # 2 / 5
        "recall@5": 0.6,  # 3 / 5: rank 5 is within @5
        "recall@10": 0.8,  # 4 / 5: rank 6 only within @10
        "mrr@10": 0.4733,  # (1 + 1 + 1/5 + 1/6 + 0) / 5 = 2.3667 / 5
    }


def test_answer_and_decline_rates_hand_computed() -> None:
    assert answer_rates(MIXED) == {
        "in_scope_answer_rate": 0.8,  # 4 of 5 in scope answered
        "out_of_scope_decline_rate": 0.6667,  # 2 of 3 out of scope not answered
    }


def test_figures_of_a_set_without_one_side() -> None:
    only_oos = [outcome("oos", None, False)]
    assert ranking_figures(only_oos) == dict.fromkeys(
        ("recall@1", "recall@5", "recall@10", "mrr@10")
    )
    assert answer_rates(only_oos) == {
        "in_scope_answer_rate": None,
        "out_of_scope_decline_rate": 1.0,
    }
    assert answer_rates([outcome("faq", None, False)])["out_of_scope_decline_rate"] is None
    assert answer_rates([]) == {"in_scope_answer_rate": None, "out_of_scope_decline_rate": None}


def test_latency_percentiles() -> None:
    assert latency_figures([0.001, 0.004]) == {"p50": 2.5, "p99": 4.0}
    # 100 questions of 1…100 ms: the median lies between 50 and 51; p99 is the 100th value.
    assert latency_figures([i / 1000 for i in range(1, 101)]) == {"p50": 50.5, "p99": 100.0}
    assert latency_figures([0.002] * 3) == {"p50": 2.0, "p99": 2.0}
    assert latency_figures([]) == {"p50": None, "p99": None}


def test_by_kind_hand_computed() -> None:
    assert by_kind(MIXED) == {
        "faq": {"queries": 3, "recall@1": 0.6667, "mrr@10": 0.7333, "answer_rate": 0.6667},
        "passage": {"queries": 2, "recall@1": 0.0, "mrr@10": 0.0833, "answer_rate": 1.0},
    }
    assert by_kind([outcome("oos", None, False)]) == {}  # a kind without questions is left out


def test_summary_of_outcomes() -> None:
    summary = summarise(MIXED, index_seconds=1.234)
    assert list(summary) == [
        "queries",
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "in_scope_answer_rate",
        "out_of_scope_decline_rate",
        "in_scope",
        "out_of_scope",
        "latency_ms",
        "index_seconds",
        "by_kind",
    ]
    assert summary["queries"] == 8 and summary["index_seconds"] == 1.23
    assert summary["latency_ms"] == {"p50": 45.0, "p99": 80.0}
    assert summary["by_kind"] == by_kind(MIXED)
    assert summary["in_scope"] == citizen_rates(MIXED)["in_scope"]
    assert summary["out_of_scope"] == citizen_rates(MIXED)["out_of_scope"]


# ---- what the citizen sees ---------------------------------------------------------------------


def seen(
    query: Query, answer_type: str, *shown: tuple[str, str, str], kind: str = "faq"
) -> Outcome:
    answered = answer_type in ("faq", "passage")
    return Outcome(query, kind, None, answered, answer_type=answer_type, shown=shown)


def test_shown_right_judges_the_first_item_shown_or_any_option() -> None:
    # An answer is judged on its first item only, whatever else ranks well.
    assert shown_right(seen(FAQ_Q, "faq", ("faq", "f1", ""), ("faq", "f2", "")))
    assert not shown_right(seen(FAQ_Q, "faq", ("faq", "f2", ""), ("faq", "f1", "")))
    # A passage question answered from the FAQ is wrong unless the entry is listed relevant.
    assert not shown_right(seen(PASSAGE_Q, "faq", ("faq", "f1", ""), kind="passage"))
    right_excerpt = ("passage", "政府采购法", "七个工作日内")
    assert shown_right(seen(PASSAGE_Q, "passage", right_excerpt, kind="passage"))
    # The right document without the answer string is a wrong answer.
    assert not shown_right(
        seen(PASSAGE_Q, "passage", ("passage", "政府采购法", "第一条"), kind="passage")
    )
    # A clarification is right when any of its options is relevant.
    assert shown_right(seen(FAQ_Q, "clarify", ("faq", "f3", ""), ("faq", "f1", "")))
    assert not shown_right(seen(FAQ_Q, "clarify", ("faq", "f3", ""), ("faq", "f2", "")))
    assert not shown_right(seen(FAQ_Q, "clarify"))  # no options
    # A decline shows nothing, even when the item would have been right.
    assert not shown_right(seen(FAQ_Q, "none", ("faq", "f1", "")))
    assert not shown_right(seen(FAQ_Q, "faq"))  # an answer with nothing recorded as shown


SEEN = [
    seen(FAQ_Q, "faq", ("faq", "f1", "")),  # answered right
    seen(TWO_FAQ_Q, "faq", ("faq", "f2", "")),  # answered right (the second relevant entry)
    seen(FAQ_Q, "faq", ("faq", "f9", "")),  # answered wrong
    seen(PASSAGE_Q, "passage", ("passage", "预算法", "七个工作日"), kind="passage"),  # wrong
    seen(PASSAGE_Q, "clarify", ("faq", "f9", ""), ("passage", "政府采购法", "七个工作日")),
    seen(FAQ_Q, "clarify", ("faq", "f2", ""), ("faq", "f3", "")),  # clarified wrong
    seen(FAQ_Q, "none", ("faq", "f1", "")),  # declined
    seen(FAQ_Q, "handoff"),  # a hand-over counts as declined
    seen(OOS_Q, "faq", ("faq", "f1", ""), kind="oos"),  # out of scope answered
    seen(OOS_Q, "clarify", ("faq", "f1", ""), kind="oos"),  # out of scope clarified
    seen(OOS_Q, "none", kind="oos"),
    seen(OOS_Q, "smalltalk", kind="oos"),
]


def test_citizen_rates_hand_computed() -> None:
    # 8 in scope: 2 answered right, 2 wrong, 1 clarified right, 1 wrong, 2 declined.
    # 4 out of scope: 1 answered, 1 clarified, 2 declined.
    assert citizen_rates(SEEN) == {
        "in_scope": {
            "answered_right": 0.25,
            "answered_wrong": 0.25,
            "clarified_right": 0.125,
            "clarified_wrong": 0.125,
            "declined": 0.25,
        },
        "out_of_scope": {"answered": 0.25, "clarified": 0.25, "declined": 0.5},
    }
    # The existing rates count a clarification as not answered (in scope and out).
    assert answer_rates(SEEN) == {
        "in_scope_answer_rate": 0.5,
        "out_of_scope_decline_rate": 0.75,
    }


def test_citizen_rates_of_a_set_without_one_side() -> None:
    assert citizen_rates(SEEN[-4:]) == {
        "in_scope": dict.fromkeys(
            ("answered_right", "answered_wrong", "clarified_right", "clarified_wrong", "declined")
        ),
        "out_of_scope": {"answered": 0.25, "clarified": 0.25, "declined": 0.5},
    }
    assert citizen_rates(SEEN[:1])["out_of_scope"] == dict.fromkeys(
        ("answered", "clarified", "declined")
    )


def _source(doc_id: str, excerpt: str) -> Source:
    return Source(doc_id, "标题", None, None, None, "现行有效", None, excerpt)


def _answer(answer_type: str, sources: list[Source], related: list[str]) -> Answer:
    # "clarify" is not an AnswerType yet: the evaluation counts it by its value.
    kind = cast(AnswerType, answer_type)
    return Answer("a1", kind, "……", 0.9, sources=sources, related=related)


def test_what_is_shown_is_read_from_the_answer_and_the_trace() -> None:
    kb = KnowledgeBase()
    kb.faqs = [
        FaqEntry(id="f1", question="契税税率", answer="…", variants=("契税交多少",)),
        FaqEntry(id="f2", question="印花税税率", answer="…"),
    ]
    ds = Dataset(kb, [], {"f1", "f2"}, set())
    trace = Trace("q", faq_ranking=("f2", "f1"), passage_ranking=(("d9", "别的"),))
    lead, other = _source("d1", "七个工作日内"), _source("d2", "第一条")
    # An FAQ answer shows the FAQ ranking's first entry; a passage answer its lead citation.
    assert _shown(_answer("faq", [lead], ["契税税率"]), trace, ds) == (("faq", "f2", ""),)
    assert _shown(_answer("passage", [lead, other], []), trace, ds) == (
        ("passage", "d1", "七个工作日内"),
    )
    # Declines, hand-overs and small talk show nothing.
    for kind in ("none", "handoff", "smalltalk"):
        assert _shown(_answer(kind, [lead], ["契税税率"]), trace, ds) == ()
    # A clarification shows its options: FAQ questions (a standard question or a variant) by the
    # entry that holds them, unknown texts not at all, and every document cited.
    clarify = _answer("clarify", [lead, other], ["契税交多少", "印花税税率", "别的问题"])
    assert _shown(clarify, trace, ds) == (
        ("faq", "f1", ""),
        ("faq", "f2", ""),
        ("passage", "d1", "七个工作日内"),
        ("passage", "d2", "第一条"),
    )


# ---- risk–coverage ------------------------------------------------------------------------------


def test_risk_coverage_of_one_ranker_hand_computed() -> None:
    # Confidences 0.9 right, 0.8 wrong, 0.7 right, 0.6 wrong.
    curve = risk_coverage([[(0.9, True)], [(0.8, False)], [(0.7, True)], [(0.6, False)]])
    assert curve == [
        CurvePoint(0.9, 0.25, 0.0),
        CurvePoint(0.8, 0.5, 0.5),
        CurvePoint(0.7, 0.75, 1 / 3),
        CurvePoint(0.6, 1.0, 0.5),
    ]
    # 0.25 · (0 + 1/2 + 1/3 + 1/2) = 1/3
    assert area_under(curve) == 0.3333
    assert risk_at(curve, 0.5) == 0.5 and risk_at(curve, 0.6) == 0.3333
    assert risk_at(curve, 1.0) == 0.5


def test_risk_coverage_with_ties_a_preferred_path_and_unanswerable_questions() -> None:
    questions = [
        # The FAQ candidate (right) is preferred, but only from 0.9 down; at 0.95 the passage
        # candidate (wrong) is shown.
        [(0.9, True), (0.95, False)],
        [(0.9, False)],  # a tie with the first question's FAQ confidence
        [(0.5, True)],
        [],  # a hand-over: never answered
    ]
    curve = risk_coverage(questions)
    assert curve == [
        CurvePoint(0.95, 0.25, 1.0),
        CurvePoint(0.9, 0.5, 0.5),  # the first question now answered right, the second wrong
        CurvePoint(0.5, 0.75, 1 / 3),
    ]
    # 1.0 · 0.25 + 0.5 · 0.25 + 1/3 · 0.25 = 0.4583; coverage never reaches 1
    assert area_under(curve) == 0.4583
    assert risk_at(curve, 0.9) is None
    assert risk_coverage([[], []]) == [] and area_under([]) is None
    # A ranker that is always right has no risk at any coverage.
    assert area_under(risk_coverage([[(0.3, True)], [(0.2, True)]])) == 0.0


# ---- through the command line -------------------------------------------------------------------

FAQ_1 = "契税的纳税期限是多久"
FAQ_2 = "政府采购质疑期限是几天"
PASSAGE_1 = "供应商认为采购文件使自己的权益受到损害的，可以向采购人提出质疑吗"
PASSAGE_2 = "供应商的权益受到损害应当以书面形式向谁提出"


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two FAQ entries and one document; every query's rank and answer are certain: a query
    that is an FAQ entry's own question ranks that entry first and is answered with it."""
    root = tmp_path_factory.mktemp("tiny-eval")
    _write_jsonl(
        root / "faq.jsonl",
        [
            {
                "id": "f1",
                "question": FAQ_1,
                "answer": "契税在依法办理土地、房屋权属登记前申报缴纳。",
            },
            {"id": "f2", "question": FAQ_2, "answer": "七个工作日内。"},
        ],
    )
    text = (
        "第一条 供应商认为采购文件、采购过程和中标、成交结果使自己的权益受到损害的，"
        "可以在知道或者应知其权益受到损害之日起七个工作日内，以书面形式向采购人提出质疑。"
    )
    _write_jsonl(root / "corpus.jsonl", [{"id": "d1", "title": "政府采购质疑办法", "text": text}])
    _write_jsonl(
        root / "queries.jsonl",
        [
            # FAQ questions: rank 1, rank 2 (f1 is first, and there are two entries), and small
            # talk (nothing ranked, nothing answered).
            {"id": "q1", "query": FAQ_1, "relevant": ["f1"]},
            {"id": "q2", "query": FAQ_1, "relevant": ["f2"]},
            {"id": "q3", "query": "你好", "relevant": ["f1"]},
            # Passage questions: the only document ranks 1; an answer string it lacks: no rank.
            # Both are answered by the FAQ entry whose question they are: a wrong answer shown,
            # although the document ranks first among the passages for q4.
            {"id": "q4", "query": FAQ_2, "relevant": ["d1"]},
            {"id": "q5", "query": FAQ_2, "relevant": ["d1"], "answer": "九十个工作日"},
            # Worded like the document, unlike any FAQ question: answered from the passage, whose
            # excerpt holds the answer string (q6, right) or lacks it (q7, wrong).
            {"id": "q6", "query": PASSAGE_1, "relevant": ["d1"], "answer": "七个工作日"},
            {"id": "q7", "query": PASSAGE_2, "relevant": ["d1"], "answer": "九十个工作日"},
            # Out of scope: thanks and a request for a person are declined; an FAQ question is not.
            {"id": "o1", "query": "谢谢", "relevant": []},
            {"id": "o2", "query": "转人工", "relevant": []},
            {"id": "o3", "query": FAQ_1, "relevant": []},
        ],
    )
    return root


def test_eval_cli_prints_the_hand_computed_figures(tiny_dataset: Path) -> None:
    result = run_cli("eval", str(tiny_dataset), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # In scope q1…q7, ranks 1, 2, none, 1, none, 1, none; answered all but q3; the first item
    # shown is relevant for q1 (f1) and q6 (d1 with the answer string) only.
    assert {k: v for k, v in report.items() if k not in ("latency_ms", "index_seconds")} == {
        "queries": 10,
        "recall@1": 0.4286,  # 3 / 7
        "recall@5": 0.5714,  # 4 / 7
        "recall@10": 0.5714,
        "mrr@10": 0.5,  # (1 + 1/2 + 0 + 1 + 0 + 1 + 0) / 7
        "in_scope_answer_rate": 0.8571,  # 6 / 7
        "out_of_scope_decline_rate": 0.6667,  # 2 / 3
        "in_scope": {
            "answered_right": 0.2857,  # q1, q6: 2 / 7
            "answered_wrong": 0.5714,  # q2, q4, q5, q7: 4 / 7
            "clarified_right": 0.0,
            "clarified_wrong": 0.0,
            "declined": 0.1429,  # q3 (small talk): 1 / 7
        },
        "out_of_scope": {"answered": 0.3333, "clarified": 0.0, "declined": 0.6667},  # o3; o1, o2
        "by_kind": {
            "faq": {"queries": 3, "recall@1": 0.3333, "mrr@10": 0.5, "answer_rate": 0.6667},
            "passage": {"queries": 4, "recall@1": 0.5, "mrr@10": 0.5, "answer_rate": 1.0},
        },
    }
    assert set(report["latency_ms"]) == {"p50", "p99"} and report["index_seconds"] >= 0
