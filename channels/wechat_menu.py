"""The custom menu file (``menu.yaml``): what ``policyqa wechat menu`` publishes and what the
channel replies to a CLICK button. This module owns the format::

    buttons:                      # 1–3 top-level buttons
      - name: 常见问题            # ≤ 16 bytes (a sub-button's name ≤ 60 bytes)
        sub_buttons:              # 1–5, instead of key/url
          - name: 政府采购
            key: FAQ_PROCUREMENT  # a CLICK button: ≤ 128 bytes, unique
            reply: 您可以这样问：…  # the text sent when it is clicked (≤ 2,048 bytes)
          - name: 局网站
            url: https://czj.example.gov.cn   # a VIEW button: ≤ 1,024 bytes
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from channels.wechat_text import MAX_BYTES, size

MAX_TOP, MAX_SUB = 3, 5
MAX_FILE = 64 * 1024


class MenuError(Exception):
    """The menu file is wrong; the message (Chinese) names the file and the button."""


@dataclass
class Menu:
    wechat: dict[str, Any]  # the body of menu/create
    replies: dict[str, str] = field(default_factory=dict)  # CLICK key -> reply text


def load_menu(path: Path) -> Menu:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise MenuError(f"无法读取菜单文件 {path}：{exc.strerror or exc}") from None
    if len(raw) > MAX_FILE:
        raise MenuError(f"菜单文件 {path} 过大（超过 64 KB）")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MenuError(
            f"菜单文件 {path} 不是有效的 UTF-8 YAML：{str(exc).splitlines()[0]}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("buttons"), list):
        raise MenuError(f"菜单文件 {path} 应包含 buttons 列表")
    buttons = data["buttons"]
    if not 1 <= len(buttons) <= MAX_TOP:
        raise MenuError(f"菜单文件 {path}：一级菜单应为 1–{MAX_TOP} 个，现有 {len(buttons)} 个")
    menu = Menu(wechat={"button": []})
    for n, button in enumerate(buttons, 1):
        where = f"菜单文件 {path} 第 {n} 个一级菜单"
        menu.wechat["button"].append(_button(button, where, menu.replies, top=True))
    return menu


def _button(button: Any, where: str, replies: dict[str, str], *, top: bool) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise MenuError(f"{where}：应为含 name 的映射")
    name = button.get("name")
    limit = 16 if top else 60
    if not isinstance(name, str) or not name.strip():
        raise MenuError(f"{where}：缺少名称 name")
    if size(name) > limit:
        raise MenuError(f"{where}“{name}”：名称超过 {limit} 字节（UTF-8，一个汉字 3 字节）")
    where = f"{where}“{name}”"
    subs = button.get("sub_buttons")
    if subs is not None:
        if not top:
            raise MenuError(f"{where}：子菜单不能再有子菜单")
        if not isinstance(subs, list) or not 1 <= len(subs) <= MAX_SUB:
            raise MenuError(f"{where}：子菜单 sub_buttons 应为 1–{MAX_SUB} 个")
        return {
            "name": name,
            "sub_button": [
                _button(sub, f"{where}的第 {i} 个子菜单", replies, top=False)
                for i, sub in enumerate(subs, 1)
            ],
        }
    key, url, reply = button.get("key"), button.get("url"), button.get("reply")
    if (key is None) == (url is None):
        raise MenuError(f"{where}：应有 key（点击回复）或 url（打开网页）其中之一")
    if url is not None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise MenuError(f"{where}：url 应以 http:// 或 https:// 开头")
        if size(url) > 1024:
            raise MenuError(f"{where}：url 超过 1024 字节")
        return {"type": "view", "name": name, "url": url}
    if not isinstance(key, str) or not key.strip() or size(key) > 128:
        raise MenuError(f"{where}：key 应为 1–128 字节的文字")
    if key in replies:
        raise MenuError(f"{where}：key “{key}”重复")
    if not isinstance(reply, str) or not reply.strip():
        raise MenuError(f"{where}：点击菜单需要回复内容 reply")
    if size(reply.strip()) > MAX_BYTES:
        raise MenuError(f"{where}：回复内容超过 {MAX_BYTES} 字节")
    replies[key] = reply.strip()
    return {"type": "click", "name": name, "key": key}
