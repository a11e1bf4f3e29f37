"""The HTML frame of the public pages: the bureau's header, navigation and footer, escaped
throughout (every value from the index or a conversation goes through ``esc``)."""

from __future__ import annotations

from html import escape

SITE = "泰安市财政局"
WIDGET_TITLE = "泰安市财政局 政策咨询"
WIDGET_GREETING = (
    "您好！这里是泰安市财政局政策咨询综合服务窗口。请输入您想了解的财政、税收、政府采购、"
    "会计、社会保险等政策问题。"
)
THEME = "#a61b1b"


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def widget_tag() -> str:
    return (
        f'<script src="/widget.js" data-title="{esc(WIDGET_TITLE)}" data-color="{THEME}" '
        f'data-greeting="{esc(WIDGET_GREETING)}" defer></script>'
    )


def page(title: str, body: str, *, widget: bool = True, printable: bool = False) -> str:
    """A whole page. ``printable``: the plain frame of a page meant to be printed."""
    header = (
        ""
        if printable
        else f"""<header class="site-header">
  <div class="wrap"><p class="site-name"><a href="/">{SITE}</a></p>
  <p class="site-sub">政策咨询综合服务窗口</p></div>
  <nav aria-label="网站导航"><ul class="wrap">
    <li><a href="/">首页</a></li><li><a href="/#policies">政策文件</a></li>
    <li><a href="/#interpretations">政策解读</a></li><li><a href="/#consult">政策咨询</a></li>
  </ul></nav>
</header>"""
    )
    footer = (
        ""
        if printable
        else f"""<footer class="site-footer"><div class="wrap">
  <p>主办单位：{SITE}　|　本页面内容以正式发布的文件为准</p></div></footer>"""
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} - {SITE}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/site.css">
{widget_tag() if widget else ""}
</head>
<body{' class="printable"' if printable else ""}>
<a class="skip" href="#main">跳到正文</a>
{header}
<main id="main" class="wrap">
{body}
</main>
{footer}
</body>
</html>
"""
