"""The HTTP interface of /api/v1/ask on the shipped sample knowledge, as the chat widget uses it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.conftest import WITHHELD_MARKER, ready_client
from tests.conftest import ask as ask_shared


@pytest.fixture(scope="module")
def client(sample_index: Path) -> Iterator[TestClient]:
    with ready_client(create_app(Settings(index_dir=sample_index))) as c:
        yield c


ASK_PATH = "/api/v1/ask"


def ask(client: TestClient, question: Any, **extra: Any) -> dict[str, Any]:
    """The shared ``ask``, and the response's shape checked."""
    body = ask_shared(client, question, **extra)
    assert set(body) == {
        "answer_id",
        "type",
        "answer",
        "confidence",
        "sources",
        "related",
        "handoff",
        "session_id",
    }
    assert len(body["session_id"]) >= 32
    if extra.get("session_id"):
        assert body["session_id"] == extra["session_id"], "an issued session id is kept"
    for source in body["sources"]:
        assert set(source) == {
            "doc_id",
            "title",
            "doc_no",
            "section",
            "issued_on",
            "status",
            "url",
            "excerpt",
        }
        assert len(source["excerpt"]) <= 300
        assert source["status"] in {"现行有效", "已修改", "已失效", "已废止"}
    return body


def test_health_ready_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] > 60 and ready["faqs"] >= 40
    assert ready["problems"] == [] and ready["sessions"] == "正常" and ready["reloading"]
    assert "/api/v1/ask" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_supplier_challenge_cites_procurement_law_article(client: TestClient) -> None:
    body = ask(client, "我是供应商，对政府采购的中标结果有异议，该怎么办？")
    assert body["type"] == "faq" and body["confidence"] >= 0.5 and not body["handoff"]
    cited = {(s["doc_id"], s["section"].split(" › ")[-1]) for s in body["sources"]}
    assert ("政府采购法-2014", "第五十二条") in cited
    first = body["sources"][0]
    assert first["title"] == "中华人民共和国政府采购法" and first["issued_on"] == "2014-08-31"
    assert first["section"] == "第六章 质疑与投诉 › 第五十二条"
    assert "七个工作日" in first["excerpt"]
    assert body["related"], "related FAQ questions are offered"


def test_passage_answer_cites_document_and_article(client: TestClient) -> None:
    body = ask(client, "国库券的发行对象有哪些？")
    assert body["type"] == "passage" and body["confidence"] >= 0.5
    top = body["sources"][0]
    assert top["doc_id"] == "国库券条例-2011" and top["section"].endswith("第二条")
    assert "居民个人" in top["excerpt"] and top["status"] == "现行有效"
    assert "国库券条例" in body["answer"]


def test_policy_is_cited_with_its_interpretation(client: TestClient) -> None:
    body = ask(client, "预算、决算草案经批准后多长时间内向社会公开？")
    kinds = {s["doc_id"] for s in body["sources"]}
    assert "预算法-2018" in kinds
    assert any(d.startswith("解读-预算法") for d in kinds), body["sources"]


def test_accounting_law_cites_2024_version_as_current(client: TestClient) -> None:
    body = ask(client, "会计法对单位内部会计监督制度有什么要求？")
    assert body["type"] in ("faq", "passage")
    first = body["sources"][0]
    assert first["doc_id"] == "会计法-2024" and first["status"] == "现行有效"
    for source in body["sources"]:
        if source["doc_id"] == "会计法-2017":
            assert source["status"] == "已修改"


def test_only_old_version_matches_says_so(client: TestClient) -> None:
    # Wording found only in the 2017 text: the answer leads with the current article and says so.
    body = ask(client, "款项和有价证券的收付应当办理会计手续、进行会计核算吗？")
    assert body["type"] == "passage"
    assert "注意" in body["answer"] and "已修改" in body["answer"] and "现行有效" in body["answer"]
    assert body["sources"][0]["doc_id"] == "会计法-2024"
    assert body["sources"][0]["status"] == "现行有效"
    old = [s for s in body["sources"] if s["doc_id"] == "会计法-2017"]
    assert old and old[0]["status"] == "已修改" and "有价证券" in old[0]["excerpt"]


def test_on_request_document_is_named_with_how_to_apply(client: TestClient) -> None:
    body = ask(client, "2021年度市级财政专项资金绩效评价结果的报告在哪里看？")
    assert body["type"] == "passage"
    source = body["sources"][0]
    assert source["doc_no"] == "泰财绩〔2021〕5号" and source["section"] == "依申请公开"
    assert "依申请公开" in body["answer"] and "申请" in source["excerpt"]
    body_text = (Path(__file__).parent.parent / "knowledge/policies/samples").glob("*泰财绩*")
    text = next(body_text).read_text("utf-8").split("---", 2)[2]
    paragraph = max(text.split("\n"), key=len)[:40]  # a sentence of the withheld body
    assert paragraph not in body["answer"] and paragraph not in source["excerpt"]


@pytest.mark.parametrize(
    "question",
    [
        WITHHELD_MARKER,
        "财政监督检查内部工作方案",
        "内部工作方案的检查对象和时间安排是什么",
        "2021年财政监督检查有哪些重点",
        "（示例）财政监督检查内部工作方案 全文",
    ],
)
def test_withheld_document_never_appears(client: TestClient, question: str) -> None:
    response = client.post("/api/v1/ask", json={"question": question})
    assert WITHHELD_MARKER not in response.text.replace(question, "")
    assert "内部工作方案" not in str(response.json()["sources"])


@pytest.mark.parametrize(
    "question", ["周杰伦的新歌叫什么名字？", "今天天气怎么样", "信用卡逾期了怎么办", "车险理赔流程"]
)
def test_out_of_scope_is_declined_with_a_person_and_no_unrelated_suggestions(
    client: TestClient, question: str
) -> None:
    body = ask(client, question)
    assert body["type"] == "none" and body["handoff"] is True
    assert body["sources"] == [] and body["related"] == [], body["related"]
    assert body["confidence"] < 0.5 and "没有找到" in body["answer"]
    # Without suggestions the reply says what the window answers, not "see the questions below".
    assert "相近的问题" not in body["answer"] and "政府采购" in body["answer"]


def test_a_decline_suggests_the_faq_questions_about_its_subject(client: TestClient) -> None:
    body = ask(client, "发票丢了")
    assert body["type"] == "none" and body["handoff"] is True
    assert body["related"] and all("发票" in q for q in body["related"]), body["related"]
    assert "相近的问题" in body["answer"] and "回复序号" in body["answer"]
    # A suggestion's number, or its text (the widget's buttons send it), answers that entry.
    chosen = ask(client, "2", session_id=body["session_id"])
    assert chosen["type"] == "faq" and chosen["confidence"] == 1.0, chosen["answer"][:80]
    assert chosen["related"] != body["related"]
    again = ask(client, "发票丢了")
    by_text = ask(client, again["related"][0], session_id=again["session_id"])
    assert by_text["type"] == "faq" and by_text["confidence"] == 1.0
    # A long, rambling question below the confidence still gets the entry that answers it.
    body = ask(
        client,
        "我要问一下关于那个政府采购的事情就是我们公司参加了一个项目然后没中标"
        "但是我们觉得中标的那家公司资质有问题应该怎么办",
    )
    assert body["type"] == "none" and any("质疑" in q for q in body["related"]), body["related"]


@pytest.mark.parametrize(
    "question",
    [
        "转人工",
        "我要人工客服",
        "能不能找个人工服务",
        "我要投诉你们单位的工作人员",
        "举报某单位违规使用财政资金",
        "我要信访",
    ],
)
def test_person_complaint_report_petition_go_to_a_person(client: TestClient, question: str) -> None:
    body = ask(client, question)
    assert body["type"] == "handoff" and body["handoff"] is True and body["sources"] == []


def test_asking_how_to_complain_is_a_policy_question(client: TestClient) -> None:
    body = ask(client, "对质疑答复不满意，供应商怎么投诉？")
    assert body["type"] == "faq" and not body["handoff"]
    assert any(s["doc_id"].startswith("政府采购法") for s in body["sources"])


@pytest.mark.parametrize(
    ("question", "subject"),
    [("采购结果不公平找谁投诉", "投诉"), ("举报饭店不开发票有没有奖励", "举报")],
)
def test_colloquial_questions_about_complaining_are_answered(
    client: TestClient, question: str, subject: str
) -> None:
    """Answered, or asked back with the procedure's entries as options: not handed over as if it
    were a complaint."""
    body = ask(client, question)
    assert body["type"] in ("faq", "clarify") and not body["handoff"], body
    assert subject in body["answer"], body


@pytest.mark.parametrize(
    ("question", "word"), [("你好", "您好"), ("谢谢！", "不客气"), ("再见", "再见")]
)
def test_greetings_and_thanks_get_a_short_reply(
    client: TestClient, question: str, word: str
) -> None:
    body = ask(client, question)
    assert body["type"] == "smalltalk" and word in body["answer"] and body["sources"] == []


def test_greeting_before_a_question_is_answered(client: TestClient) -> None:
    body = ask(client, "你好，请问个税起征点是多少？")
    assert body["type"] == "faq" and body["sources"][0]["doc_id"] == "个人所得税法-2018"


def test_follow_up_is_understood_in_context(client: TestClient) -> None:
    alone = ask(client, "那需要什么材料？")
    session = ask(client, "供应商对中标结果有异议，怎么提出质疑？")["session_id"]
    follow = ask(client, "那需要什么材料？", session_id=session)
    assert follow["type"] in ("faq", "passage")
    assert any("政府采购" in s["title"] for s in follow["sources"]), follow
    assert alone["sources"] != follow["sources"]


def test_sessions_do_not_leak_into_each_other(client: TestClient) -> None:
    a = ask(client, "国库券的发行对象有哪些？")["session_id"]
    fresh = ask(client, "那怎么缴费？")
    b = ask(client, "灵活就业人员怎么参加社会保险？")["session_id"]
    assert a != b != fresh["session_id"]
    assert ask(client, "那怎么缴费？", session_id=a)["sources"] != fresh["sources"]
    other = ask(client, "那怎么缴费？", session_id=b)
    assert other["sources"] != fresh["sources"]


def test_a_guessed_session_id_gets_no_ones_context(client: TestClient) -> None:
    """Session ids are capabilities: an id the server never issued is a new conversation, even
    when a conversation with a similar-looking id exists."""
    fresh = ask(client, "那怎么缴费？")
    victim = ask(client, "国库券的发行对象有哪些？")["session_id"]
    for guess in ("a", "c", victim[:-1] + ("A" if victim[-1] != "A" else "B"), victim.upper()):
        response = client.post(
            "/api/v1/ask", json={"question": "那怎么缴费？", "session_id": guess}
        )
        body = response.json()
        assert response.status_code == 200 and body["session_id"] not in (guess, victim)
        assert body["sources"] == fresh["sources"] and body["type"] == fresh["type"]


def test_text_is_normalised_before_matching(client: TestClient) -> None:
    plain = ask(client, "个税起征点是多少？")
    variant = ask(client, "  個稅　起征點 是多少？？ ")
    assert variant["type"] == plain["type"] == "faq"
    assert variant["answer"] == plain["answer"]


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"question": ""}, "question", "不能为空"),
        ({"question": "   \n "}, "question", "不能为空"),
        ({"question": "财政" * 251}, "question", "500"),
        ({"question": 123}, "question", "必须是文字"),
        ({"question": ["个税"]}, "question", "必须是文字"),
        ({"question": None}, "question", "必须是文字"),
        ({}, "question", "缺少"),
        ({"question": "个税", "session_id": 5}, "session_id", "必须是文字"),
        ({"question": "个税", "session_id": "x" * 200}, "session_id", "过长"),
    ],
)
def test_bad_questions_get_a_clear_chinese_422(
    client: TestClient, payload: Any, field: str, words: str
) -> None:
    response = client.post("/api/v1/ask", json=payload)
    assert response.status_code == 422
    body = response.json()
    assert words in body["detail"]
    assert body["errors"][0]["field"] == field


def test_invalid_json_and_non_object_bodies(client: TestClient) -> None:
    response = client.post(
        "/api/v1/ask", content=b"{question: ", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "JSON" in response.json()["detail"]
    response = client.post("/api/v1/ask", json=["个税"])
    assert response.status_code == 422 and "JSON 对象" in response.json()["detail"]


def test_not_ready_answers_503_in_chinese(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(index_dir=tmp_path))) as c:
        deadline = time.monotonic() + 30
        while "加载失败" not in c.get("/readyz").text:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert c.get("/readyz").status_code == 503
        assert c.get("/healthz").status_code == 200
        response = c.post("/api/v1/ask", json={"question": "个税"})
        assert response.status_code == 503 and "索引" in response.json()["detail"]
        assert "正在启动" not in response.json()["detail"]  # it says why instead


def test_unusable_session_database_is_reported_and_questions_are_answered(
    sample_index: Path, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    url = f"sqlite:///{tmp_path / 'a-file' / 'missing' / 's.sqlite'}"
    settings = Settings(index_dir=sample_index, database_url=url)
    with ready_client(create_app(settings)) as c:
        ready = c.get("/readyz").json()
        assert ready["status"] == "degraded" and ready["sessions"] == "不可用"
        assert any("数据库不可用" in p for p in ready["problems"]), ready
        # Answered without context rather than refused.
        first = c.post(ASK_PATH, json={"question": "供应商对中标结果有异议，怎么提出质疑？"})
        assert first.status_code == 200 and first.json()["type"] == "faq", first.text
        sid = first.json()["session_id"]
        follow = c.post(ASK_PATH, json={"question": "那需要什么材料？", "session_id": sid})
        assert follow.status_code == 200
        assert follow.json()["type"] in ("faq", "passage", "none")
