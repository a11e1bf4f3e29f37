"""The WeChat message protocol: signatures, freshness, the hostile-XML gate, safe-mode crypto,
parsing and reply rendering. Built on wechatpy, minus its warts: signatures are compared in
constant time, markup declarations (``<!DOCTYPE``, ``<!ENTITY``…) are refused before any parser
sees the text (also inside a decrypted payload), the padding and the AppID of a decrypted
message are checked, the random prefix comes from ``secrets``, and reply text cannot break out of
its CDATA section.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import struct
import time
from dataclasses import dataclass

import xmltodict
from wechatpy.crypto import PrpCrypto
from wechatpy.messages import BaseMessage
from wechatpy.parser import parse_message
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

MAX_BODY = 64 * 1024  # bytes of a request body WeChat may send us
_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.S)
_ENCRYPT = re.compile(r"[A-Za-z0-9+/=]+")


class Refused(Exception):
    """A request that is not from WeChat or not acceptable: ``status`` and a Chinese reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def signature(*parts: str) -> str:
    """sha1 over the sorted parts (token, timestamp, nonce[, Encrypt]) as lowercase hex."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    result: str = signer.signature
    return result


def check_signature(expected_parts: tuple[str, ...], given: str | None, *, what: str) -> None:
    if not given:
        raise Refused(403, f"缺少签名参数 {what}")
    if not hmac.compare_digest(signature(*expected_parts).encode(), given.lower().encode()):
        raise Refused(403, f"签名 {what} 校验失败")


def check_fresh(timestamp: str | None, *, max_skew_s: int, now: float | None = None) -> None:
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        raise Refused(400, "缺少或无效的时间戳参数 timestamp")
    if max_skew_s and abs((time.time() if now is None else now) - int(timestamp)) > max_skew_s:
        raise Refused(403, f"时间戳 timestamp 与服务器时间相差超过 {max_skew_s} 秒，请求已过期")


def refuse_declarations(text: str) -> None:
    """No DOCTYPE, ENTITY or other markup declaration may reach a parser: the text outside CDATA
    sections must not contain ``<!`` at all (a citizen's own text inside CDATA is fine)."""
    if "<!" in _CDATA.sub("", text):
        raise Refused(400, "消息含有 DOCTYPE 或实体声明，已拒绝")


def decode_body(body: bytes) -> str:
    if len(body) > MAX_BODY:
        raise Refused(413, f"消息体超过 {MAX_BODY // 1024} KB，已拒绝")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "消息不是 UTF-8 编码的 XML") from None
    refuse_declarations(text)
    return text


def parse_fields(text: str) -> dict[str, object]:
    """The fields of a ``<xml>`` document (already through ``refuse_declarations``)."""
    try:
        parsed = xmltodict.parse(text, disable_entities=True)
    except Exception:
        raise Refused(400, "消息不是有效的 XML") from None
    fields = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(fields, dict):
        raise Refused(400, "消息不是有效的微信 XML（缺少 <xml> 根元素）")
    return fields


def parse(text: str) -> BaseMessage:
    """A wechatpy message or event (``UnknownMessage`` for types it does not know)."""
    fields = parse_fields(text)  # validates the shape before wechatpy looks at it
    if not isinstance(fields.get("MsgType"), str) or not isinstance(
        fields.get("FromUserName"), str
    ):
        raise Refused(400, "消息缺少 MsgType 或 FromUserName")
    try:
        message: BaseMessage = parse_message(text)
    except Exception:
        raise Refused(400, "消息字段无效") from None
    return message


class _Prp(PrpCrypto):
    def __init__(self, key: bytes, random16: bytes | None = None) -> None:
        super().__init__(key)
        self._random16 = random16

    def get_random_string(self) -> bytes:
        return self._random16 if self._random16 is not None else secrets.token_bytes(16)


@dataclass(frozen=True)
class Envelope:
    encrypt: str
    signature: str
    timestamp: str
    nonce: str

    def render(self) -> str:
        return (
            f"<xml>\n<Encrypt><![CDATA[{self.encrypt}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{self.signature}]]></MsgSignature>\n"
            f"<TimeStamp>{self.timestamp}</TimeStamp>\n"
            f"<Nonce><![CDATA[{self.nonce}]]></Nonce>\n</xml>"
        )


class MessageCrypto:
    """Safe mode: AES-256-CBC with the EncodingAESKey, PKCS#7 to 32 bytes, AppID appended."""

    def __init__(self, *, token: str, aes_key: bytes, appid: str) -> None:
        self.token, self.key, self.appid = token, aes_key, appid

    def decrypt(self, encrypt: str, *, timestamp: str, nonce: str, msg_signature: str) -> str:
        check_signature(
            (self.token, timestamp, nonce, encrypt), msg_signature, what="msg_signature"
        )
        if not _ENCRYPT.fullmatch(encrypt):
            raise Refused(400, "Encrypt 不是有效的密文")
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except binascii.Error:
            raise Refused(400, "Encrypt 不是有效的密文") from None
        if not raw or len(raw) % 32:
            raise Refused(400, "Encrypt 密文长度无效")
        plain = _Prp(self.key).cipher.decrypt(raw)
        pad = plain[-1]
        if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad or len(plain) - pad < 20:
            raise Refused(400, "无法解密消息（请检查 WECHAT_AES_KEY）")
        content = plain[16:-pad]
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise Refused(400, "无法解密消息（请检查 WECHAT_AES_KEY）")
        try:
            message = content[4 : 4 + length].decode("utf-8")
            appid = content[4 + length :].decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "无法解密消息（请检查 WECHAT_AES_KEY）") from None
        if not hmac.compare_digest(appid.encode(), self.appid.encode()):
            raise Refused(403, "消息中的 AppID 与 WECHAT_APPID 不一致")
        refuse_declarations(message)
        return message

    def encrypt(
        self,
        message: str,
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        random16: bytes | None = None,
    ) -> Envelope:
        """A reply envelope with a fresh TimeStamp, Nonce and MsgSignature."""
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**10))
        encrypt = _Prp(self.key, random16).encrypt(message, self.appid).decode()
        return Envelope(encrypt, signature(self.token, timestamp, nonce, encrypt), timestamp, nonce)


def cdata_safe(text: str) -> str:
    """Text that stays inside one CDATA section (``]]>`` would end it early)."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def text_reply(*, to_user: str, from_user: str, content: str) -> str:
    reply = TextReply(
        target=cdata_safe(to_user), source=cdata_safe(from_user), content=cdata_safe(content)
    )
    rendered: str = reply.render()
    return rendered
