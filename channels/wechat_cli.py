"""``policyqa wechat menu --file menu.yaml`` and ``policyqa wechat check``: the operator's side of
the WeChat channel, reporting in Chinese."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from channels.wechat_api import ApiError, WechatApi
from channels.wechat_config import ChannelOff, SettingsProblem, WechatSettings, load_settings
from channels.wechat_menu import MenuError, load_menu
from channels.wechat_state import StateUnavailable, open_state


def add_parser(sub: Any) -> None:
    p = sub.add_parser("wechat", help="微信公众号：发布自定义菜单、检查设置")
    wsub = p.add_subparsers(dest="wechat_command", required=True)
    m = wsub.add_parser("menu", help="发布公众号自定义菜单")
    m.add_argument("--file", required=True, help="菜单文件（YAML，格式见 docs/wechat.md）")
    m.add_argument("--index", help="索引目录（共享状态文件默认放在它旁边）")
    m.set_defaults(func=cmd_menu)
    c = wsub.add_parser("check", help="用微信接口检查 WECHAT_* 设置，列出问题")
    c.add_argument("--index", help="索引目录（共享状态文件默认放在它旁边）")
    c.set_defaults(func=cmd_check)


def _settings() -> WechatSettings | None:
    try:
        return load_settings()
    except (ChannelOff, SettingsProblem) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return None


def _api(settings: WechatSettings, index: str | None) -> WechatApi:
    state = open_state(
        redis_url=settings.redis_url,
        sqlite_path=settings.state_path(Path(index) if index else None),
        appid=settings.appid,
    )
    state.ping()
    return WechatApi(
        api_base=settings.api_base,
        appid=settings.appid,
        appsecret=settings.appsecret,
        state=state,
    )


def cmd_menu(args: argparse.Namespace) -> int:
    try:
        menu = load_menu(Path(args.file))
    except MenuError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    settings = _settings()
    if settings is None:
        return 2
    try:
        asyncio.run(_api(settings, args.index).create_menu(menu.wechat))
    except (ApiError, StateUnavailable) as exc:
        print(f"错误：菜单未发布：{getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    buttons = menu.wechat["button"]
    print(f"自定义菜单已发布：{len(buttons)} 个一级菜单，{len(menu.replies)} 个点击回复。")
    if (
        settings.menu_file is None
        or Path(settings.menu_file).resolve() != Path(args.file).resolve()
    ):
        print(f"提示：请把 WECHAT_MENU_FILE 设为 {args.file}，服务才会回复菜单点击。")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    settings = _settings()
    if settings is None:
        return 1
    ok, lines = asyncio.run(_check(settings, args.index))
    print("微信公众号渠道检查：")
    for line in lines:
        print(line)
    print(
        "结论："
        + ("设置正确，可以在公众平台启用服务器配置。" if ok else "有问题需要处理（见 ✗ 项）。")
    )
    return 0 if ok else 1


async def _check(settings: WechatSettings, index: str | None) -> tuple[bool, list[str]]:
    lines = ["✓ WECHAT_TOKEN、WECHAT_APPID、WECHAT_APPSECRET 格式正确"]
    ok = True
    if settings.aes_key is None:
        lines.append(
            "! 未设置 WECHAT_AES_KEY：只能使用明文模式；兼容模式和安全模式需要消息加解密密钥"
        )
    else:
        lines.append("✓ WECHAT_AES_KEY 格式正确（可用兼容模式或安全模式）")
    if settings.max_clock_skew_s == 0:
        lines.append("! WECHAT_MAX_CLOCK_SKEW_S=0：不检查时间戳，过期请求可被重放；仅用于回放测试")
    if settings.public_base_url is None:
        lines.append("! 未设置 WECHAT_PUBLIC_BASE_URL：过长的答复无法附上完整答复的链接")
    if settings.menu_file is not None:
        try:
            menu = load_menu(settings.menu_file)
            lines.append(f"✓ 菜单文件 {settings.menu_file}：{len(menu.replies)} 个点击回复")
        except MenuError as exc:
            ok = False
            lines.append(f"✗ {exc}")
    try:
        api = _api(settings, index)
        where = (
            "Redis"
            if settings.redis_url
            else f"SQLite 文件 {settings.state_path(Path(index) if index else None)}"
        )
        lines.append(f"✓ 共享状态（access_token、消息去重）：{where} 可用")
    except StateUnavailable as exc:
        return False, [*lines, f"✗ {exc}"]
    try:
        await api.access_token()
        lines.append("✓ 已取得 access_token（AppID、AppSecret 正确，本机 IP 在白名单中）")
        ips = await api.api_domain_ips()
        lines.append(f"✓ 微信接口 {settings.api_base} 可用（接口域名解析到 {len(ips)} 个地址）")
    except ApiError as exc:
        ok = False
        lines.append(f"✗ 微信接口：{exc.reason}")
    return ok, lines
