"""What a message is before it is a policy question: a request for a person, a complaint, report
or petition (those go to a person), or a greeting or thanks (a short reply)."""

from __future__ import annotations

import re
from enum import StrEnum


class Intent(StrEnum):
    QUESTION = "question"
    HUMAN = "human"
    COMPLAINT = "complaint"
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"


_HUMAN = re.compile(
    r"转人工|人工客服|人工服务|找人工|要人工|接人工|真人|人工坐席|工作人员.{0,4}(联系|回复|回电)"
    r"|找个?人.{0,2}(问|聊|说)|^人工$"
)
_COMPLAINT = re.compile(r"投诉|举报|信访|上访|检举|控告")
# Saying one wants to complain is a complaint, however it goes on ("我要投诉，找谁？").
_WANTS_TO = re.compile(r"(我|本人)(要|想|需要|准备)(投诉|举报|信访|上访|检举|控告)")
# Asking how a procedure works (怎么投诉, 去哪投诉, 找谁, 有没有奖励) is a policy question.
_PROCEDURE = re.compile(
    r"怎么|怎样|如何|流程|程序|期限|时限|多久|几天|条件|材料|哪|什么|能否|可以|能不能"
    r"|规定|要求|方式|途径|渠道|吗|\?|？|谁|有没有|有无|是否|多少|奖励|奖金"
)
_GREETING = re.compile(
    r"^(你好|您好|hello|hi|嗨|哈喽|在吗|在不在|早上好|上午好|中午好|下午好|晚上好|有人吗|你好呀|您好呀)+"
)
_THANKS = re.compile(
    r"^(谢谢|多谢|感谢|谢了|非常感谢|太感谢了|thanks|thank you|好的谢谢|好的|明白了|知道了|收到)+"
)
_GOODBYE = re.compile(r"^(再见|拜拜|bye|没有了|没事了)+")
_FILLER = re.compile(r"^[\s,，.。!！?？~～啊呀哈嗯哦呢吧的了您你]*$")


def strip_greeting(text: str) -> str:
    """The question without a leading greeting (你好，请问… → 请问…)."""
    return _GREETING.sub("", text).lstrip(" ,，.。!！~～")


def classify(text: str) -> Intent:
    """``text`` is normalised (indexer.textnorm.normalize)."""
    if _HUMAN.search(text):
        return Intent.HUMAN
    if _WANTS_TO.search(text) or (_COMPLAINT.search(text) and not _PROCEDURE.search(text)):
        return Intent.COMPLAINT
    for pattern, intent in (
        (_THANKS, Intent.THANKS),
        (_GOODBYE, Intent.GOODBYE),
        (_GREETING, Intent.GREETING),
    ):
        match = pattern.match(text)
        if match and _FILLER.match(text[match.end() :]):
            return intent
    return Intent.QUESTION
