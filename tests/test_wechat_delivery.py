"""Staff replies and late answers through WeChat's customer-service message API (a local server
that speaks its JSON): delivered, refused after 48 hours, rate-limited, token expiry retried
once; the access token and the de-duplication marks shared between processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from channels.wechat import WechatDeliverer
from channels.wechat_api import WechatApi
from channels.wechat_state import RedisState, SqliteState, WechatState
from service.delivery import Delivery
from tests.wechat_api_server import APPID, SECRET, FakeWechat, fake_wechat

OPENID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
REDIS_URL = "redis://127.0.0.1:6379/0"
STAFF_REPLY = "您好，您咨询的政府采购质疑期限为七个工作日，自知道或者应知其权益受到损害之日起计算。"


@pytest.fixture
def fake() -> Iterator[tuple[FakeWechat, str]]:
    with fake_wechat() as served:
        yield served


@pytest.fixture(params=["sqlite", "redis"])
def state_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[type]:
    """A way to open the shared state as a new process would (same file / same Redis keys)."""
    appid = APPID if request.param == "sqlite" else f"wx{secrets.token_hex(8)}"

    def opener() -> WechatState:
        if request.param == "sqlite":
            return SqliteState(tmp_path / "state.sqlite")
        state = RedisState(REDIS_URL, appid=appid)
        state.ping()
        return state

    yield opener  # type: ignore[misc]
    if request.param == "redis":
        redis_state = RedisState(REDIS_URL, appid=appid)
        for key in redis_state.redis.scan_iter(f"{redis_state.prefix}*"):
            redis_state.redis.delete(key)


def make_api(base: str, state: WechatState, appid: str = APPID) -> WechatApi:
    return WechatApi(api_base=base, appid=appid, appsecret=SECRET, state=state)


def deliver(deliverer: WechatDeliverer, text: str = STAFF_REPLY, openid: str = OPENID) -> Delivery:
    return asyncio.run(deliverer.deliver(session_key=openid, text=text))


def test_a_staff_reply_is_delivered(fake: tuple[FakeWechat, str], tmp_path: Path) -> None:
    api, base = fake
    result = deliver(WechatDeliverer(make_api(base, SqliteState(tmp_path / "s.sqlite"))))
    assert result == Delivery(delivered=True)
    assert api.sent == [{"touser": OPENID, "msgtype": "text", "text": {"content": STAFF_REPLY}}]
    assert STAFF_REPLY.encode() in api.raw_bodies[-1]  # raw UTF-8, as WeChat wants it


def test_after_48_hours_the_reply_is_refused_with_the_reason(
    fake: tuple[FakeWechat, str], tmp_path: Path
) -> None:
    api, base = fake
    api.refuse[OPENID] = 45015
    result = deliver(WechatDeliverer(make_api(base, SqliteState(tmp_path / "s.sqlite"))))
    assert not result.delivered
    assert result.reason is not None and "48 小时" in result.reason and "45015" in result.reason
    assert api.count("/cgi-bin/message/custom/send") == 1 and api.sent == []


@pytest.mark.parametrize(
    ("code", "says"), [(45009, "次数已达上限"), (45047, "最多可连续发送 5 条")]
)
def test_rate_limits_are_reported_not_retried(
    fake: tuple[FakeWechat, str], tmp_path: Path, code: int, says: str
) -> None:
    api, base = fake
    api.refuse[OPENID] = code
    result = deliver(WechatDeliverer(make_api(base, SqliteState(tmp_path / "s.sqlite"))))
    assert not result.delivered and result.reason is not None and says in result.reason
    assert api.count("/cgi-bin/message/custom/send") == 1


@pytest.mark.parametrize("expired_code", [42001, 40001])
def test_an_expired_token_is_refreshed_and_the_call_retried_once(
    fake: tuple[FakeWechat, str], tmp_path: Path, expired_code: int
) -> None:
    api, base = fake
    deliverer = WechatDeliverer(make_api(base, SqliteState(tmp_path / "s.sqlite")))
    assert deliver(deliverer).delivered
    if expired_code == 42001:
        api.expire_all()
    else:  # the AppSecret was reset or another program fetched a token: ours is invalid
        api.valid.clear()
    assert deliver(deliverer).delivered
    assert api.count("/cgi-bin/token") == 2
    assert api.count("/cgi-bin/message/custom/send") == 3  # ok, refused once, ok
    assert len(api.sent) == 2


def test_a_token_error_is_not_retried_in_a_loop(
    fake: tuple[FakeWechat, str], tmp_path: Path
) -> None:
    api, base = fake
    deliverer = WechatDeliverer(make_api(base, SqliteState(tmp_path / "s.sqlite")))
    api.always = 40001
    result = deliver(deliverer)
    assert not result.delivered and result.reason is not None and "access_token" in result.reason
    assert api.count("/cgi-bin/message/custom/send") == 2


def test_a_long_staff_reply_goes_out_in_parts(fake: tuple[FakeWechat, str], tmp_path: Path) -> None:
    api, base = fake
    deliverer = WechatDeliverer(make_api(base, SqliteState(tmp_path / "s.sqlite")))
    long_reply = (
        "根据《中华人民共和国政府采购法》第二十六条，政府采购采用公开招标、邀请招标、竞争性谈判、单一来源采购、询价等方式。"
        * 30
    )
    assert deliver(deliverer, long_reply).delivered
    parts = [m["text"]["content"] for m in api.sent]
    assert len(parts) >= 2 and all(len(p.encode()) <= 2048 for p in parts)
    assert all(p.endswith("。") for p in parts)  # split between sentences
    assert "".join(parts) == long_reply
    too_long = deliver(deliverer, long_reply * 3)
    assert not too_long.delivered and too_long.reason is not None and "过长" in too_long.reason


def test_processes_share_one_access_token(
    fake: tuple[FakeWechat, str], state_factory: type
) -> None:
    """Eight workers asking at once, each with its own connection to the state: one fetch."""
    api, base = fake

    def worker(n: int) -> str:
        client = make_api(base, state_factory(), appid=APPID)
        return asyncio.run(client.access_token())

    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = set(pool.map(worker, range(8)))
    assert tokens == {"ACCESS_TOKEN_1"}
    assert api.count("/cgi-bin/token") == 1


def _claim_many(opener: type, key: str, n: int, out: multiprocessing.Queue[int]) -> None:
    state = opener()
    out.put(sum(state.claim(f"{key}:{i}") for i in range(n)))


def test_dedup_marks_are_shared_between_processes(state_factory: type) -> None:
    """Two processes claim the same 50 keys at the same time: each key is won exactly once."""
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[int] = ctx.Queue()
    key = f"msg:{secrets.token_hex(4)}"
    procs = [ctx.Process(target=_claim_many, args=(state_factory, key, 50, out)) for _ in range(2)]
    for p in procs:
        p.start()
    won = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sum(won) == 50
    assert not state_factory().claim(f"{key}:0")
