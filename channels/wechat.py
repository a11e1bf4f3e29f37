"""The WeChat official account (公众号) channel: ``GET /wechat`` (the server-address handshake) and
``POST /wechat`` (messages in plain, compatible and safe mode), and the ``Deliverer`` that sends
staff replies and late answers as customer-service messages (客服消息).

A request is checked before anything parses it: signed timestamp fresh, ``signature`` valid,
body at most 64 KB, no markup declaration; in safe mode ``msg_signature`` is checked and the
payload decrypted (and checked again). Each message (``MsgId``; for events ``FromUserName`` +
``CreateTime``) is answered once across retries, restarts and processes. An answer not ready
within the budget is replied ``success`` and sent as a customer-service message when ready.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from wechatpy.messages import BaseMessage

from channels.wechat_api import ApiError, WechatApi
from channels.wechat_config import ChannelOff, SettingsProblem, WechatSettings, load_settings
from channels.wechat_menu import MenuError, load_menu
from channels.wechat_protocol import (
    MAX_BODY,
    MessageCrypto,
    Refused,
    check_fresh,
    check_signature,
    decode_body,
    parse,
    parse_fields,
    text_reply,
)
from channels.wechat_state import StateUnavailable, WechatState, open_state
from channels.wechat_text import answer_text, split_text
from service.config import Settings
from service.delivery import Delivery
from service.problems import Unavailable
from service.schemas import MAX_QUESTION

log = logging.getLogger("policyqa.wechat")
router = APIRouter(tags=["微信公众号"])

NAME = "wechat"
MAX_PENDING = 200  # late answers waiting to be sent as customer-service messages, per process
MAX_STAFF_PARTS = 4  # WeChat accepts 5 consecutive messages before the citizen writes again

WELCOME = (
    "您好，欢迎关注！这里是泰安市财政局政策咨询综合服务窗口。\n"
    "您可以直接发送文字或语音提问，例如：“政府采购可以采用哪些方式？”“会计账簿要保存多少年？”，"
    "我们会依据现行政策文件答复并注明出处。\n"
    "需要工作人员帮助时，请回复“转人工”。"
)
TEXT_ONLY = (
    "目前只能解答文字或语音提问，请用文字描述您要咨询的政策问题。需要人工服务请回复“转人工”。"
)
NO_SPEECH = "抱歉，没能识别这段语音，请再说一遍或改用文字提问。"
EMPTY = "请输入您要咨询的问题。"
TOO_LONG = f"您的问题过长，请控制在 {MAX_QUESTION} 字以内。"
NOT_READY = "服务正在启动，请稍后再问。"
FAILED = "抱歉，系统暂时无法回答，请稍后再试或回复“转人工”。"
CLICK_DEFAULT = "请直接发送您要咨询的问题。"


class NotReady(Exception):
    """The index is still loading."""


# ---- the ONE call into the answering service ------------------------------------------------


async def ask_service(app: FastAPI, *, question: str, openid: str) -> dict[str, Any]:
    """The answer to a citizen's question as an AskResponse dict, through the same path as
    ``/api/v1/ask``: the conversation is keyed by the OpenID (recorded with channel ``wechat``,
    follow-ups work, a request for a person opens a ticket, the bot is silent while one is open;
    the OpenID is never shown to anyone else)."""
    try:
        answer: dict[str, Any] = await app.state.conversations.ask(
            question=question, channel=NAME, session_key=openid
        )
    except Unavailable:
        raise NotReady from None
    return answer


# ---- the channel ------------------------------------------------------------------------------


class WechatChannel:
    def __init__(self, app: FastAPI, settings: WechatSettings, state: WechatState) -> None:
        self.app, self.settings, self.state = app, settings, state
        self.api = WechatApi(
            api_base=settings.api_base,
            appid=settings.appid,
            appsecret=settings.appsecret,
            state=state,
        )
        key = settings.aes_key_bytes
        self.crypto = (
            MessageCrypto(token=settings.token, aes_key=key, appid=settings.appid)
            if key is not None
            else None
        )
        self.click_replies = load_menu(settings.menu_file).replies if settings.menu_file else {}
        self.pending: set[asyncio.Task[None]] = set()

    # ---- GET: the handshake ----

    def handshake(self, params: dict[str, str]) -> str:
        check_fresh(params.get("timestamp"), max_skew_s=self.settings.max_clock_skew_s)
        timestamp, nonce = params.get("timestamp", ""), params.get("nonce", "")
        check_signature(
            (self.settings.token, timestamp, nonce), params.get("signature"), what="signature"
        )
        echostr = params.get("echostr")
        if echostr is None:
            raise Refused(400, "缺少 echostr 参数")
        return echostr

    # ---- POST: a message ----

    async def receive(self, params: dict[str, str], body: bytes) -> Response:
        timestamp, nonce = params.get("timestamp", ""), params.get("nonce", "")
        check_fresh(timestamp, max_skew_s=self.settings.max_clock_skew_s)
        check_signature(
            (self.settings.token, timestamp, nonce), params.get("signature"), what="signature"
        )
        text = decode_body(body)
        encrypted = params.get("encrypt_type", "raw").lower() == "aes"
        if encrypted:
            if self.crypto is None:
                raise Refused(400, "收到安全模式的加密消息，但未设置 WECHAT_AES_KEY")
            encrypt = parse_fields(text).get("Encrypt")
            if not isinstance(encrypt, str):
                raise Refused(400, "加密消息缺少 Encrypt 字段")
            text = self.crypto.decrypt(
                encrypt,
                timestamp=timestamp,
                nonce=nonce,
                msg_signature=params.get("msg_signature", ""),
            )
        message = parse(text)
        reply = await self.respond(message)
        if reply is None:
            return PlainTextResponse("success")
        xml = text_reply(to_user=message.source, from_user=message.target, content=reply)
        if encrypted and self.crypto is not None:
            xml = self.crypto.encrypt(xml).render()
        return Response(xml, media_type="application/xml")

    async def respond(self, message: BaseMessage) -> str | None:
        """The text to reply, or None for ``success`` (nothing to say, or said already)."""
        try:
            first = await anyio.to_thread.run_sync(self.state.claim, _dedup_key(message))
        except Exception as exc:  # Redis down, SQLite locked for long: WeChat will retry
            log.warning("wechat state unavailable: %s", str(exc).splitlines()[0][:200])
            raise Refused(503, "微信渠道的共享状态暂不可用，请稍后重试") from None
        if not first:
            log.info("wechat duplicate message from %s: success", _mask(message.source))
            return None
        data = message._data  # wechatpy calls unknown events "unknown" messages: read the XML's
        kind = str(data.get("MsgType") or "").lower()
        if kind == "text":
            return await self.answer(str(message.content or ""), message.source)
        if kind == "voice":
            recognition = str(getattr(message, "recognition", None) or "").strip()
            return await self.answer(recognition, message.source) if recognition else NO_SPEECH
        if kind == "event":
            event = str(data.get("Event") or "").lower()
            if event in ("subscribe", "subscribe_scan"):
                return WELCOME
            if event == "click":
                return self.click_replies.get(str(data.get("EventKey") or ""), CLICK_DEFAULT)
            return None  # VIEW, LOCATION, SCAN, job reports, unknown events: nothing to say
        return TEXT_ONLY  # image, location, link, video, shortvideo, unknown types

    async def answer(self, question: str, openid: str) -> str | None:
        question = question.strip()
        if not question:
            return EMPTY
        if len(question) > MAX_QUESTION:
            return TOO_LONG
        task = asyncio.ensure_future(self._answer(question, openid))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.settings.answer_budget_s)
        except TimeoutError:
            self._send_later(task, openid)
            return None

    async def _answer(self, question: str, openid: str) -> str:
        try:
            response = await ask_service(self.app, question=question, openid=openid)
        except NotReady:
            return NOT_READY
        except Exception:
            log.exception("wechat answer failed")
            return FAILED
        return answer_text(response, page_base=self.settings.public_base_url)

    def _send_later(self, task: asyncio.Future[str], openid: str) -> None:
        if len(self.pending) >= MAX_PENDING:
            log.warning("wechat: %d late answers pending, one dropped", len(self.pending))
            return

        async def send() -> None:
            text = await task
            try:
                await self.api.send_text(openid=openid, text=text)
                log.info("wechat late answer sent to %s", _mask(openid))
            except ApiError as exc:
                log.warning("wechat late answer to %s not sent: %s", _mask(openid), exc.reason)

        pending = asyncio.ensure_future(send())
        self.pending.add(pending)
        pending.add_done_callback(self.pending.discard)


class WechatDeliverer:
    """Staff replies to the citizen behind an OpenID, as customer-service messages."""

    name = NAME

    def __init__(self, api: WechatApi) -> None:
        self.api = api

    async def deliver(self, *, session_key: str, text: str) -> Delivery:
        parts = split_text(text)
        if not parts:
            return Delivery(delivered=False, reason="消息内容为空")
        if len(parts) > MAX_STAFF_PARTS:
            return Delivery(
                delivered=False,
                reason=f"消息过长：微信需分成 {len(parts)} 条发送，最多 {MAX_STAFF_PARTS} 条，请精简后再发",
            )
        for n, part in enumerate(parts, 1):
            try:
                await self.api.send_text(openid=session_key, text=part)
            except ApiError as exc:
                sent = f"（前 {n - 1} 段已送达）" if n > 1 else ""
                return Delivery(delivered=False, reason=f"{exc.reason}{sent}")
        return Delivery(delivered=True)


def _dedup_key(message: BaseMessage) -> str:
    if message.id:
        return f"msg:{message.id}"
    data = message._data
    return f"event:{data.get('FromUserName')}:{data.get('CreateTime')}:{data.get('Event')}"


def _mask(openid: object) -> str:
    text = str(openid or "")
    return text[:4] + "…" if len(text) > 4 else "…"


# ---- HTTP -------------------------------------------------------------------------------------


def _channel(request: Request) -> WechatChannel | JSONResponse:
    channel: WechatChannel | str = request.app.state.wechat
    if isinstance(channel, str):
        return JSONResponse(status_code=503, content={"detail": channel, "errors": []})
    return channel


def _refused(exc: Refused) -> Response:
    log.info("wechat request refused (%d): %s", exc.status, exc.reason)
    return JSONResponse(status_code=exc.status, content={"detail": exc.reason, "errors": []})


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused(413, f"消息体超过 {MAX_BODY // 1024} KB，已拒绝")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, f"消息体超过 {MAX_BODY // 1024} KB，已拒绝")
    return bytes(body)


@router.get("/wechat", summary="微信服务器地址验证", response_class=PlainTextResponse)
async def wechat_handshake(request: Request) -> Response:
    channel = _channel(request)
    if isinstance(channel, Response):
        return channel
    try:
        return PlainTextResponse(channel.handshake(dict(request.query_params)))
    except Refused as exc:
        return _refused(exc)


@router.post("/wechat", summary="接收微信消息", response_class=PlainTextResponse)
async def wechat_message(request: Request) -> Response:
    channel = _channel(request)
    if isinstance(channel, Response):
        return channel
    try:
        return await channel.receive(dict(request.query_params), await _read_body(request))
    except Refused as exc:
        return _refused(exc)


def mount(app: FastAPI, settings: Settings) -> None:
    """Adds ``/wechat``; when configured, registers the deliverer in ``app.state.deliverers``.
    A channel that is off or misconfigured says why on ``/wechat``; the service runs on."""
    app.include_router(router)
    try:
        wechat = load_settings()
        state = open_state(
            redis_url=wechat.redis_url,
            sqlite_path=wechat.state_path(settings.index_dir),
            appid=wechat.appid,
        )
        state.ping()
        channel = WechatChannel(app, wechat, state)
    except ChannelOff as exc:
        app.state.wechat = str(exc)
        return
    except (SettingsProblem, StateUnavailable, MenuError) as exc:
        app.state.wechat = f"微信公众号渠道已停止：{exc}"
        log.error("wechat channel stopped: %s", exc)
        return
    app.state.wechat = channel
    app.state.deliverers[NAME] = WechatDeliverer(channel.api)
