"""The curated FAQ of the shipped sample knowledge answers what citizens ask at the window.

Colloquial questions, worded as citizens type them and different from every stored question and
variant, are asked through ``/api/v1/ask``: the right curated entry must answer, citing the article
it rests on. The FAQ files themselves are checked for what the matcher needs (enough distinct
variants, no near-identical wording shared by two entries)."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.faq_files import load_faq_file
from indexer.models import FaqEntry
from service.app import create_app
from service.config import Settings
from tests.conftest import KNOWLEDGE, ask, ready_client

# (question as a citizen asks it, id of the entry that must answer)
COLLOQUIAL = [
    ("我月薪一万二，个税到底是咋算出来的", "gs-jisuan-fangfa"),
    ("个税年度汇算在手机上哪里弄", "gs-huisuan-banli"),
    ("卖掉自己的二手房要交多少个人所得税", "gs-caichan-zhuanrang"),
    ("我把房子租出去了，房租要交个税吗", "gs-caichan-zulin"),
    ("买彩票中了一万块要扣税吗", "gs-ouran-suode"),
    ("个税app里冒出一个不认识的公司给我发工资", "gs-shenbao-shuju-buyizhi"),
    ("开个体户的经营所得个税咋交", "gs-jingying-suode"),
    ("父母赠送的房子契税按什么价格算", "qs-jishui-yiju"),
    ("房子被政府征收了再买房契税能不能免", "qs-zhengshou-chonggou"),
    ("自己住的房子用不用交房产税", "fcs-geren-zhufang"),
    ("房产税按房产原值的百分之多少交", "fcs-shuilv"),
    ("车船税是不是保险公司代收的", "ccs-jiaona-fangshi"),
    ("汽车报废以后当年剩下月份的车船税怎么退", "ccs-baofei-tuishui"),
    ("买新车购置税要交百分之几", "clgzs-shuilv"),
    ("印花税的税率表哪里能查到", "yhs-shuilv"),
    ("合同里没写金额印花税咋交", "yhs-jishui-teshu"),
    ("工资和存款利息要不要交增值税", "zzs-bu-zhengshui"),
    ("小规模纳税人征收率多少", "zzs-xiaoguimo"),
    ("税款晚交了几天会罚多少滞纳金", "zsgl-zhinajin"),
    ("多交的税过了两年还能退吗", "zsgl-duojiao-tuishui"),
    ("自由职业者养老保险一个月交多少钱", "sb-linghuo-jiaofei-biaozhun"),
    ("灵活就业参保登记去哪办理要几天", "sb-linghuo-dengji-qudao"),
    ("社保断交半年之前交的还有用吗", "sb-duanjiao"),
    ("生孩子的生育津贴怎么申领", "sb-shengyu-daiyu"),
    ("老人去世了养老金多领的要退吗", "sb-daiyu-tingzhi-gaozhi"),
    ("工程招标公示的中标候选人有问题怎么提异议", "ztb-zhongbiao-houxuanren-yiyi"),
    ("政府采购招标文件修改了要不要延长投标截止时间", "zfcg-zhaobiao-wenjian-qixian"),
    ("政府采购合同追加采购最多能加多少", "zfcg-buchong-hetong-fenbao"),
    ("供应商围标串标会怎么罚", "zfcg-gongyingshang-weifa"),
    ("市里的预算草案提前多久交人大审查", "ysgk-yusuan-caoan-shencha"),
    ("地方政府能不能借债搞建设", "ysgk-difang-zhaiwu"),
    ("这个咨询窗口都能问什么", "xxgk-chuangkou-fanwei"),
    ("会计离职交接要谁监交", "kjf-jiaojie"),
    ("彩票中奖过了多少天不兑就作废了", "cp-duijiang"),
    ("审计局来审计会提前几天发通知", "sj-shenji-chengxu"),
    # Entries added for the window's most asked questions (issue #12).
    ("单位不给我扣房租的专项附加扣除怎么办", "gs-zfkc-danwei-jujue"),
    ("赡养老人一个月到底能抵扣多少钱", "gs-zfkc-biaozhun-chaxun"),
    ("三个人合伙讲课拿了一万块讲课费，个税咋算", "gs-gongtong-suode"),
    ("卖了公司的股份，工商变更前要先交个税吗", "gs-guquan-zhuanrang"),
    ("给老婆房产证加名字要交契税不", "qs-fuqi-jiaming"),
    ("税务局最多能往前追几年的税", "zsgl-zhuizheng-qixian"),
    ("欠了税还能出国旅游吗", "zsgl-qianshui-chujing"),
    ("招标代理公司组织的项目质疑该交给谁", "zfcg-zhiyi-daili-jigou"),
    ("招标文件要求必须本地注册企业才能投合法吗", "zfcg-difang-baohu"),
    ("同一个法人的两家公司能投同一个标吗", "zfcg-guanlian-gongyingshang"),
    ("中标的公司不签合同可以让第二名上吗", "zfcg-zhongbiao-jujue-qianyue"),
    ("公司一直不给办社保登记罚多少", "sb-danwei-bu-dengji-fakuan"),
    ("退休老人每年都得做领取资格认证吗", "sb-daiyu-zige-renzheng"),
    ("老人行动不方便，社保能上门办吗", "sb-laoren-shangmen-daiban"),
    ("预备费占预算支出的比例是多少", "ysgk-yubeifei"),
    ("去年没花完的预算资金怎么办", "ysgk-jiezhuan-jieyu"),
    ("惠农补贴发放情况在哪里看", "xxgk-huimin-zijin"),
    ("政府投资的工程审计局审不审", "sj-zhengfu-touzi-xiangmu"),
    ("外资企业的账能全用英文记吗", "kjf-waiwen-jizhang"),
    ("企业今年亏了明年赚了能抵税吗", "qysds-kuisun-mibu"),
    # Spoken filler around the question (service/colloquial.py); before it was stripped, both were
    # declined with the right entry only among the suggestions.
    ("我想咨询一下，就是那个新能源汽车到底交不交车船税", "ccs-mianzheng"),
    ("你好我想问一下就是我们单位去年多交了税，现在还能要回来吗", "zsgl-duojiao-tuishui"),
]

# Asked back (``clarify``: the clarify model of service/tuning.py finds the runner-up too close),
# the expected entry offered first: "税率表哪里能查到" is as near to "印花税在哪里申报" as to the
# rate entry. Replying "1" then gives the curated answer. Every other question here is answered.
CLARIFIED = {"yhs-shuilv"}

# Far out of scope: the window must not answer these from tax or procurement texts.
OUT_OF_SCOPE = ["明天泰安天气怎么样", "中心医院几点挂号", "讲个笑话", "信用卡逾期了怎么办"]


@cache
def entries() -> dict[str, FaqEntry]:
    out: dict[str, FaqEntry] = {}
    for path in sorted((KNOWLEDGE / "faq").glob("*.yaml")):
        loaded, problems = load_faq_file(path, f"faq/{path.name}")
        assert not [p for p in problems if p.fatal], problems
        out.update((e.id, e) for e in loaded)
    return out


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _bigrams(text: str) -> set[str]:
    t = _norm(text)
    return {t[i : i + 2] for i in range(len(t) - 1)} or {t}


@pytest.fixture(scope="module")
def client(sample_index: Path) -> Iterator[TestClient]:
    with ready_client(create_app(Settings(index_dir=sample_index))) as c:
        yield c


def test_the_sample_faq_covers_the_window_topics() -> None:
    faqs = entries()
    assert len(faqs) >= 200
    by_category: dict[str, int] = {}
    for entry in faqs.values():
        by_category[entry.category or ""] = by_category.get(entry.category or "", 0) + 1
    for category, at_least in {"税收": 60, "社会保险": 25, "政府采购": 25, "预算": 12}.items():
        assert by_category.get(category, 0) >= at_least, by_category
    assert all(e.reviewed for e in faqs.values())
    assert all(4 <= len(e.variants) <= 8 for e in faqs.values()), [
        (e.id, len(e.variants)) for e in faqs.values() if not 4 <= len(e.variants) <= 8
    ]


def test_no_two_entries_share_near_identical_wording() -> None:
    rows = [(e.id, t, _bigrams(t)) for e in entries().values() for t in (e.question, *e.variants)]
    clashes = []
    for (a, ta, ga), (b, tb, gb) in itertools.combinations(rows, 2):
        if a != b and (_norm(ta) == _norm(tb) or len(ga & gb) / len(ga | gb) >= 0.7):
            clashes.append((a, ta, b, tb))
    assert clashes == []


def test_colloquial_questions_are_new_wordings() -> None:
    stored = {_norm(t) for e in entries().values() for t in (e.question, *e.variants)}
    assert len(COLLOQUIAL) >= 30
    for question, expected in COLLOQUIAL:
        assert expected in entries(), expected
        assert _norm(question) not in stored, question


@pytest.mark.parametrize(("question", "expected"), COLLOQUIAL, ids=[e for _, e in COLLOQUIAL])
def test_colloquial_question_gets_the_curated_answer_with_its_article(
    client: TestClient, question: str, expected: str
) -> None:
    entry = entries()[expected]
    body = ask(client, question)
    if expected in CLARIFIED:
        assert body["type"] == "clarify" and body["related"][0] == entry.question, body["related"]
        body = ask(client, "1", body["session_id"])
    assert body["type"] == "faq" and not body["handoff"], (body["type"], body["answer"][:80])
    # The curated answer, after any validity note and before any missing-annex note.
    assert entry.answer.strip() in body["answer"], body["answer"][:80]
    # Notice headings are cited as written (part 三 of the notice uses half-width brackets).
    cited = {
        (s["doc_id"], unicodedata.normalize("NFKC", s["section"]).split(" › ")[-1])
        for s in body["sources"]
    }
    first = entry.sources[0]
    article = unicodedata.normalize("NFKC", first.article or "").split("、", 1)[-1]
    assert (first.doc_id, article) in cited, cited


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_far_out_of_scope_questions_are_still_declined(client: TestClient, question: str) -> None:
    body = ask(client, question)
    assert body["type"] not in ("faq", "passage"), (body["type"], body["answer"][:80])
