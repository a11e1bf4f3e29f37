"""The outbound WeChat API client: access token, customer-service messages (客服消息), the custom
menu and the checks of ``policyqa wechat check``.

The access token lives in the shared state (``channels/wechat_state.py``), so every service
process uses the same one; it is refreshed by one process at a time (a lease) five minutes
before it expires. An expired or invalid token (40001, 40014, 42001) is dropped, refreshed and the
call retried once. Rate limits (45009, 45011, 45047) and the closed 48-hour window (45015) are
reported to the caller in Chinese, never retried in a loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import anyio.to_thread
import httpx

from channels.wechat_state import WechatState

log = logging.getLogger("policyqa.wechat")

REFRESH_MARGIN_S = 300  # refresh a token this long before it expires
MAX_RESPONSE = 64 * 1024  # bytes of an API response we read
TOKEN_ERRORS = frozenset({40001, 40014, 42001})

_REASONS = {
    -1: "微信系统繁忙，请稍后再试",
    40001: "access_token 无效（AppSecret 可能已重置，或其他程序刷新了令牌）",
    40003: "OpenID 无效，该用户不是本公众号的关注者",
    40013: "AppID 无效，请检查 WECHAT_APPID",
    40125: "AppSecret 无效，请检查 WECHAT_APPSECRET",
    40164: "本服务器的 IP 不在公众号的 IP 白名单中（公众平台“开发—基本配置—IP白名单”）",
    41004: "缺少 AppSecret，请设置 WECHAT_APPSECRET",
    42001: "access_token 已过期",
    43004: "市民已取消关注公众号，无法发送消息",
    44002: "发送内容为空",
    45002: "消息内容超过微信的长度限制",
    45009: "公众号今日调用该接口的次数已达上限（45009），请明天再试或在公众平台申请提高额度",
    45011: "接口调用过于频繁（45011），请稍后再试",
    45015: "已超过微信 48 小时客服消息时限（45015）：市民 48 小时内没有给公众号发消息，"
    "需等市民再次留言后才能回复",
    45047: "客服消息下行条数超过上限（45047）：市民回复之前最多可连续发送 5 条消息",
    48001: "公众号没有该接口的权限（48001），客服消息和自定义菜单需要已认证的公众号",
    65301: "自定义菜单不存在",
}


class ApiError(Exception):
    """A failed WeChat API call; ``reason`` is Chinese, for a ticket or an operator."""

    def __init__(self, errcode: int | None, reason: str, errmsg: str = "") -> None:
        super().__init__(reason)
        self.errcode, self.reason, self.errmsg = errcode, reason, errmsg

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> ApiError:
        code = int(result.get("errcode", -1))
        errmsg = str(result.get("errmsg", ""))[:200]
        reason = _REASONS.get(code, f"微信接口返回错误 {code}：{errmsg}")
        if code == 40164 and errmsg:
            reason = f"{reason}；微信看到的来源：{errmsg[:120]}"
        return cls(code, reason, errmsg)


class WechatApi:
    def __init__(
        self,
        *,
        api_base: str,
        appid: str,
        appsecret: str,
        state: WechatState,
        timeout_s: float = 5.0,
    ) -> None:
        self.api_base, self.appid, self.appsecret = api_base.rstrip("/"), appid, appsecret
        self.state, self.timeout_s = state, timeout_s

    # ---- HTTP -------------------------------------------------------------------------------

    async def _http(
        self, method: str, path: str, *, params: dict[str, str], body: Any = None
    ) -> dict[str, Any]:
        content = None
        headers = {}
        if body is not None:
            # Raw UTF-8: WeChat shows \\uXXXX escapes literally in some clients.
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout_s) as client,
                client.stream(
                    method,
                    f"{self.api_base}{path}",
                    params=params,
                    content=content,
                    headers=headers,
                ) as response,
            ):
                raw = b""
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) > MAX_RESPONSE:
                        raise ApiError(None, "微信接口返回的内容过大")
        except httpx.HTTPError as exc:
            raise ApiError(
                None, f"无法连接微信接口（{self.api_base}）：{type(exc).__name__}"
            ) from None
        try:
            result = json.loads(raw)
        except ValueError:
            raise ApiError(
                None, f"微信接口返回的不是 JSON（HTTP {response.status_code}）"
            ) from None
        if not isinstance(result, dict):
            raise ApiError(None, "微信接口返回的内容无法识别")
        return result

    # ---- access token -------------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, float]:
        result = await self._http(
            "GET",
            "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.appsecret,
            },
        )
        if "access_token" not in result:
            raise ApiError.from_result(result)
        expires_in = float(result.get("expires_in", 7200))
        return str(result["access_token"]), time.time() + expires_in

    async def access_token(self) -> str:
        """The shared token; refreshed by one process (the lease holder) when it nears expiry."""
        deadline = time.monotonic() + 2 * self.timeout_s
        while True:
            current = await anyio.to_thread.run_sync(self.state.token)
            now = time.time()
            if current is not None and current[1] - now > REFRESH_MARGIN_S:
                return current[0]
            holder = await anyio.to_thread.run_sync(
                lambda: self.state.lease("token", ttl_s=2 * self.timeout_s)
            )
            if holder is not None:
                try:
                    current = await anyio.to_thread.run_sync(self.state.token)
                    if current is not None and current[1] - time.time() > REFRESH_MARGIN_S:
                        return current[0]
                    token, expires_at = await self._fetch_token()
                    await anyio.to_thread.run_sync(self.state.store_token, token, expires_at)
                    log.info("wechat access token refreshed")
                    return token
                finally:
                    await anyio.to_thread.run_sync(self.state.release, "token", holder)
            if current is not None and current[1] > now + 5:
                return current[0]  # still valid while another process refreshes it
            if time.monotonic() > deadline:
                raise ApiError(None, "获取 access_token 超时（另一个进程正在刷新）")
            await asyncio.sleep(0.05)

    async def call(self, method: str, path: str, *, body: Any = None) -> dict[str, Any]:
        """An API call with the access token; a token error is retried once with a new token."""
        for attempt in (1, 2):
            token = await self.access_token()
            result = await self._http(method, path, params={"access_token": token}, body=body)
            code = int(result.get("errcode", 0) or 0)
            if code == 0:
                return result
            if code in TOKEN_ERRORS and attempt == 1:
                log.info("wechat token error %s: refreshing and retrying once", code)
                await anyio.to_thread.run_sync(self.state.drop_token, token)
                continue
            raise ApiError.from_result(result)
        raise AssertionError("unreachable")

    # ---- the calls the channel makes ---------------------------------------------------------

    async def send_text(self, *, openid: str, text: str) -> None:
        """A customer-service text message (客服消息); ApiError says why it was not accepted."""
        await self.call(
            "POST",
            "/cgi-bin/message/custom/send",
            body={"touser": openid, "msgtype": "text", "text": {"content": text}},
        )

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("POST", "/cgi-bin/menu/create", body=menu)

    async def api_domain_ips(self) -> list[str]:
        result = await self.call("GET", "/cgi-bin/get_api_domain_ip")
        ips = result.get("ip_list", [])
        return [str(ip) for ip in ips] if isinstance(ips, list) else []
