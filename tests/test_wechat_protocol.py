"""The published crypto and signature vectors, reproduced exactly by the channel's protocol
module (the HTTP tests in test_wechat_channel.py use the same keys end to end)."""

from __future__ import annotations

import base64
from typing import Any

from channels.wechat_protocol import MessageCrypto, parse_fields, signature
from tests.wechat_helpers import FIXTURES, VECTORS


def vector(vector_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        v for v in VECTORS["crypto_vectors"] + VECTORS["signature_vectors"] if v["id"] == vector_id
    )
    return found


def crypto_for(inputs: dict[str, Any]) -> MessageCrypto:
    key = base64.b64decode(inputs["encoding_aes_key"] + "=")
    return MessageCrypto(token=inputs["token"], aes_key=key, appid=inputs["appid"])


def test_a1_encryption_with_a_fixed_random_matches_tencents_sample() -> None:
    a1 = vector("A1")
    inputs = a1["inputs"]
    envelope = crypto_for(inputs).encrypt(
        inputs["plaintext"],
        timestamp="1409304348",
        nonce="xxxxxx",
        random16=inputs["random16"].encode(),
    )
    assert envelope.encrypt == a1["expected"]["encrypt_b64"]
    computed = a1["computed_here"]
    assert envelope.signature == computed["msg_signature_for_timestamp_1409304348_nonce_xxxxxx"]
    assert (
        signature(inputs["token"], "1409304348", "xxxxxx")
        == computed["plain_signature_for_timestamp_1409304348_nonce_xxxxxx"]
    )


def test_e_request_decrypts_and_the_reply_envelope_is_the_official_one() -> None:
    e = vector("E")
    inputs, expected = e["inputs"], e["expected"]
    crypto = crypto_for(inputs)
    envelope = parse_fields((FIXTURES / inputs["body_file"]).read_text(encoding="utf-8"))
    plain = crypto.decrypt(
        str(envelope["Encrypt"]),
        timestamp=inputs["timestamp"],
        nonce=inputs["nonce"],
        msg_signature=inputs["msg_signature"],
    )
    assert plain == (FIXTURES / expected["plaintext_file"]).read_text(encoding="utf-8")
    assert len(plain.encode()) == expected["msg_len"]
    assert signature(inputs["token"], inputs["timestamp"], inputs["nonce"]) == inputs["signature"]

    reply = crypto.encrypt(
        inputs["reply_plaintext"],
        timestamp=inputs["reply_timestamp"],
        nonce=inputs["reply_nonce"],
        random16=inputs["reply_random16"].encode(),
    )
    assert reply.encrypt == expected["reply_encrypt_b64"]
    assert reply.signature == expected["reply_msg_signature"]
    official = (FIXTURES / expected["reply_file"]).read_text(encoding="utf-8")
    assert reply.render() == official.strip()


def test_signature_vectors() -> None:
    s1, s5 = vector("S1"), vector("S5")
    assert signature(s1["token"], s1["timestamp"], s1["nonce"]) == s1["signature"]
    assert signature(*s5["parts"]) == s5["signature"]
