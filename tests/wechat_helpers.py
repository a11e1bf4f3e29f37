"""What WeChat's servers do, written out independently of the code under test: sign a request,
encrypt a message for safe mode, and open an encrypted reply. Plus the protocol fixtures."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
import time
from pathlib import Path
from typing import Any

import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

FIXTURES = Path(__file__).parent / "fixtures" / "wechat"
VECTORS = json.loads((FIXTURES / "crypto_vectors.json").read_text(encoding="utf-8"))
VECTOR_E = VECTORS["crypto_vectors"][1]
TOKEN = VECTOR_E["inputs"]["token"]  # AAAAA
AES_KEY = VECTOR_E["inputs"]["encoding_aes_key"]  # 43 x "A"
APPID = VECTOR_E["inputs"]["appid"]


def sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed(token: str = TOKEN, *, timestamp: int | None = None, **extra: str) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = str(secrets.randbelow(10**9))
    return {"signature": sha1_sorted(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}


def _key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def encrypt(plaintext: str, *, aes_key: str = AES_KEY, appid: str = APPID) -> str:
    key = _key(aes_key)
    msg = plaintext.encode()
    full = os.urandom(16) + struct.pack(">I", len(msg)) + msg + appid.encode()
    pad = 32 - len(full) % 32
    full += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(full) + enc.finalize()).decode()


def decrypt(encrypted: str, *, aes_key: str = AES_KEY) -> tuple[str, str]:
    """(message, appid) of a safe-mode ciphertext."""
    key = _key(aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(encrypted)) + dec.finalize()
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    return plain[20 : 20 + length].decode(), plain[20 + length :].decode()


def safe_mode(
    plaintext: str, *, token: str = TOKEN, aes_key: str = AES_KEY, appid: str = APPID
) -> tuple[dict[str, str], str]:
    """Query parameters and body of a safe-mode request carrying ``plaintext``."""
    encrypted = encrypt(plaintext, aes_key=aes_key, appid=appid)
    params = signed(token, encrypt_type="aes", openid="o9AgO5Kd5ggOC-bXrbNODIiE3bGY")
    params["msg_signature"] = sha1_sorted(token, params["timestamp"], params["nonce"], encrypted)
    body = f"<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return params, body


def fields(xml: str) -> dict[str, Any]:
    parsed: dict[str, Any] = xmltodict.parse(xml)["xml"]
    return parsed


def open_reply(xml: str, *, token: str = TOKEN, aes_key: str = AES_KEY) -> dict[str, Any]:
    """The fields of an encrypted reply, after checking its signature and AppID."""
    envelope = fields(xml)
    expected = sha1_sorted(token, envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"])
    assert envelope["MsgSignature"] == expected, "reply signature does not verify"
    message, appid = decrypt(envelope["Encrypt"], aes_key=aes_key)
    assert appid == APPID
    return fields(message)


def text_message(
    content: str,
    *,
    openid: str = "oUser0001",
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    msg_id = msg_id if msg_id is not None else secrets.randbelow(10**15)
    return (
        "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def wechat_env(api_base: str, state_db: Path, **extra: str) -> dict[str, str]:
    return {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_APPSECRET": "0123456789abcdef0123456789abcdef",
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_API_BASE": api_base,
        "WECHAT_STATE_DB": str(state_db),
        **extra,
    }
