"""What a citizen's question must be before the answering core sees it: the same rules for HTTP,
the CLI and every channel.

The length limit holds for the text as typed and for its normalised form (NFKC can expand one
character into many: U+FDFA becomes 18), so the work done for one question stays bounded. A
question with nothing to match after normalisation (only zero-width characters, a BOM,
punctuation, emoji) is treated as empty.
"""

from __future__ import annotations

from indexer.textnorm import normalize

MAX_QUESTION = 500
MAX_SESSION_ID = 128
MAX_CHANNEL = 32
# For the OpenAPI schema: at least one letter or digit (Python's \w without the underscore).
QUESTION_PATTERN = r"[^\W_]"


class QuestionError(ValueError):
    """A question the service refuses, with a Chinese message that names the problem."""


def check_text(value: str, *, name: str) -> None:
    """Refuse text that cannot be encoded (a lone surrogate such as ``"\\ud800"`` in JSON)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = ord(value[exc.start])
        raise QuestionError(
            f"{name}含有无效字符（第 {exc.start + 1} 个字符 U+{bad:04X} 不是完整的 Unicode 字符）"
        ) from None


def check_question(question: str) -> str:
    """The question unchanged when acceptable; raises QuestionError otherwise."""
    check_text(question, name="问题")
    if len(question) > MAX_QUESTION:
        raise QuestionError(f"问题过长（{len(question)} 字），请控制在 {MAX_QUESTION} 字以内")
    text = normalize(question)
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("问题不能为空，请输入您要咨询的问题")
    if len(text) > MAX_QUESTION:
        raise QuestionError(f"问题过长（规范化后 {len(text)} 字），请控制在 {MAX_QUESTION} 字以内")
    return question
