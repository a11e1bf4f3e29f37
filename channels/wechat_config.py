"""The WeChat channel's settings: the ``WECHAT_*`` environment variables, checked in one place.

Without any of WECHAT_TOKEN, WECHAT_APPID, WECHAT_APPSECRET and WECHAT_AES_KEY the channel is
off. A malformed or missing one stops the channel (``/wechat`` says which variable and why) while
the rest of the service runs.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_BASE = "https://api.weixin.qq.com"
CORE_VARIABLES = ("WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_APPSECRET", "WECHAT_AES_KEY")
STATE_FILE_NAME = "wechat-state.sqlite"


class WechatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WECHAT_", extra="ignore")

    token: str = Field(description="服务器配置中的令牌（Token）")
    appid: str = Field(description="开发者 ID（AppID）")
    appsecret: str = Field(description="开发者密码（AppSecret）")
    # EncodingAESKey; needed for the compatible and safe (encrypted) modes only.
    aes_key: str | None = None
    # Freshness window of the signed timestamp, seconds; 0 turns the check off (replays).
    max_clock_skew_s: int = Field(default=300, ge=0)
    api_base: str = DEFAULT_API_BASE
    # How long a reply may wait for the answer before WeChat (5 s) would retry; after it the
    # answer goes out as a customer-service message.
    answer_budget_s: float = Field(default=4.0, gt=0, lt=5)
    # Public address of this service: long answers link to {public_base_url}/answers/{answer_id}.
    public_base_url: str | None = None
    # The custom menu (policyqa wechat menu) and the replies to its CLICK buttons.
    menu_file: Path | None = None
    # Shared state (access token, MsgId de-duplication) when Redis is not configured.
    state_db: Path | None = None
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("POLICYQA_REDIS_URL", "REDIS_URL")
    )

    @field_validator("token")
    @classmethod
    def _token(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9]{3,32}", value):
            raise ValueError("应为 3–32 位英文字母或数字，与公众平台“服务器配置”中的令牌一致")
        return value

    @field_validator("appid")
    @classmethod
    def _appid(cls, value: str) -> str:
        if not re.fullmatch(r"wx[0-9a-fA-F]{16}", value):
            raise ValueError("应为以 wx 开头的 18 位开发者 ID（AppID）")
        return value

    @field_validator("appsecret")
    @classmethod
    def _appsecret(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9a-zA-Z]{32}", value):
            raise ValueError("应为 32 位字母或数字的开发者密码（AppSecret）")
        return value

    @field_validator("aes_key")
    @classmethod
    def _aes_key(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not re.fullmatch(r"[A-Za-z0-9+/]{43}", value):
            raise ValueError("应为 43 位字母或数字的消息加解密密钥（EncodingAESKey）")
        try:
            key = base64.b64decode(value + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("不是有效的消息加解密密钥（EncodingAESKey）") from exc
        if len(key) != 32:
            raise ValueError("不是有效的消息加解密密钥（EncodingAESKey）")
        return value

    @field_validator("api_base", "public_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", value):
            raise ValueError("应为以 http:// 或 https:// 开头的网址")
        return value.rstrip("/")

    @property
    def aes_key_bytes(self) -> bytes | None:
        return None if self.aes_key is None else base64.b64decode(self.aes_key + "=")

    def state_path(self, index_dir: Path | None) -> Path:
        """The SQLite state file: WECHAT_STATE_DB, else beside the index folder (so it outlives
        restarts and every worker of one server finds the same file)."""
        if self.state_db is not None:
            return self.state_db
        if index_dir is not None:
            return Path(index_dir).resolve().parent / STATE_FILE_NAME
        return Path("var") / STATE_FILE_NAME


class ChannelOff(Exception):
    """The channel is not configured (no WECHAT_* variable set)."""


class SettingsProblem(Exception):
    """A WECHAT_* variable is missing or malformed: the message names it, in Chinese."""


def channel_configured(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in CORE_VARIABLES)


def load_settings() -> WechatSettings:
    """The settings from the environment; ChannelOff or SettingsProblem (Chinese) otherwise."""
    if not channel_configured():
        raise ChannelOff("微信公众号渠道未启用：未设置 " + "、".join(CORE_VARIABLES[:3]))
    try:
        return WechatSettings()  # type: ignore[call-arg]  # the required ones come from the env
    except ValidationError as exc:
        raise SettingsProblem(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    wrong = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = "REDIS_URL" if field == "redis_url" else "WECHAT_" + field.upper()
        wrong.append(f"{name}{_problem(error)}")
    return "环境变量有误：" + "；".join(wrong)


def _problem(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return " 未设置"
    shown = f"={error.get('input')!r}" if kind not in ("value_error",) else ""
    if kind == "value_error":
        return f" {ctx.get('error', error['msg'])}"
    if kind in ("int_parsing", "int_from_float"):
        return f"{shown} 应为整数（秒）"
    if kind == "float_parsing":
        return f"{shown} 应为数字（秒）"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{shown} 应{'不小于' if kind == 'greater_than_equal' else '大于'} {ctx.get('ge', ctx.get('gt'))}"
    if kind == "less_than":
        return f"{shown} 应小于 {ctx.get('lt')}（微信 5 秒内收不到回复就会重发）"
    return f"{shown} 无效（{error['msg']}）"
