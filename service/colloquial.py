"""Colloquial filler taken out of a question before it is matched.

Citizens type the way they speak: "我想咨询一下，就是那个新能源汽车到底交不交车船税". The openers
("我想咨询一下"), discourse fillers ("就是那个", "到底") and the "关于…的事情" frame carry no subject,
but they dilute the sentence vector and the character pairs the FAQ matcher compares: that question
scored 0.57 against its entry (below the 0.58 at which an FAQ answers), "新能源汽车交不交车船税"
0.82. Only words that never carry a subject are removed; a question that is nothing but filler is
kept as it is.
"""

from __future__ import annotations

import re

# A request to ask at the start: 请问 / 麻烦问一下 / 我想咨询一下 / 想了解下 / 打扰一下 …
_OPENER = re.compile(
    r"^(?:(?:(?:请问|麻烦|打扰|劳驾|冒昧)(?:一下|下|您|你)?"
    r"|我?(?:想|要)(?:问|咨询|请教|了解|打听)(?:一下|下)?"
    r"|我?(?:问|咨询|请教|打听)(?:一下|下)"
    r"|就是那个|嗯|额|呃)[ ,，、]*)+"
)
# "关于那个政府采购的事情" → "政府采购": the frame around a subject.
_ABOUT = re.compile(r"关于(?:那个|这个)?(.{1,16}?)的(?:事情|事儿|问题|情况)")
# Discourse fillers inside a question. "那个" alone is left: spoken, it also means 哪个 ("酷狗和天天
# 动听那个好"); "就是" after 也 / 不 / 这 … is the copula ("这就是"), not a filler.
_FILLER = re.compile(r"(?<![也不这那正还可只要])就是(?:说|那个)?|那个啥|然后|到底|究竟|其实|反正")
_SEPARATORS = " ,，.。!！~～、"


def plain(text: str) -> str:
    """``text`` (normalised) without its colloquial filler; ``text`` itself when less than two
    characters would be left."""
    core = _ABOUT.sub(r"\1", text)
    core = _OPENER.sub("", core).lstrip(_SEPARATORS)
    core = _FILLER.sub("", core).strip(_SEPARATORS)
    return core if len(core) >= 2 else text
