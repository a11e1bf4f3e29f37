"""Fixed replies the window gives, in the bureau's voice."""

from __future__ import annotations

from service.intents import Intent

NOT_FOUND = (
    "抱歉，暂时没有找到与您的问题相符的政策内容。您可以换个说法再问，或看看下面这些相近的问题"
    "（回复序号即可查看）；也可以转人工，由工作人员为您解答。"
)
# The same without suggestions (none is about the question): what the window answers instead.
NOT_FOUND_ALONE = (
    "抱歉，暂时没有找到与您的问题相符的政策内容。本窗口解答财政预决算、政府采购、税收、会计、"
    "社会保险、政务公开等政策问题，您可以换个说法再问；也可以转人工，由工作人员为您解答。"
)


def not_found(with_suggestions: bool) -> str:
    return NOT_FOUND if with_suggestions else NOT_FOUND_ALONE


def referred(body: str) -> str:
    """A question another body handles (service/referrals.py): who to ask instead."""
    return (
        f"抱歉，本窗口的政策库中没有找到这个问题的答案：它属于{body}办理的事项，建议您向{body}咨询，"
        "也可以拨打 12345 政务服务便民热线。本窗口解答财政预决算、政府采购、税收、会计、社会保险、"
        "政务公开等政策问题。"
    )


_HANDOFF = {
    Intent.HUMAN: "好的，已为您转接人工服务，工作人员会尽快答复您。",
    Intent.COMPLAINT: "您反映的投诉、举报或信访事项需要由工作人员受理，已为您转接人工服务，"
    "工作人员会尽快与您联系。",
}
_SMALLTALK = {
    Intent.GREETING: "您好！这里是泰安市财政局政策咨询窗口，可以为您解答财政预决算、政府采购、税收、会计、"
    "社会保险、政务公开等政策问题，请直接输入您的问题。",
    Intent.THANKS: "不客气，很高兴能帮到您。还有其他问题可以随时问我。",
    Intent.GOODBYE: "再见，欢迎随时再来咨询。",
}


def handoff(intent: Intent) -> str:
    return _HANDOFF.get(intent, _HANDOFF[Intent.HUMAN])


def smalltalk(intent: Intent) -> str:
    return _SMALLTALK[intent]


def clarify(options: list[str]) -> str:
    """Asks which of the close candidates the citizen means; the options are numbered."""
    listed = "\n".join(f"{n}. {text}" for n, text in enumerate(options, 1))
    return f"您想问的是以下哪一个？请回复序号（1–{len(options)}），或直接发送对应的问题：\n{listed}"
