"""A local HTTP server that speaks the WeChat API's JSON for the tests: access tokens, customer-
service messages, the custom menu and the API-domain IPs, with WeChat's error codes. The service
under test reaches it through WECHAT_API_BASE; nothing goes to the internet."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

APPID = "wx134c8103faa5a59e"
SECRET = "0123456789abcdef0123456789abcdef"


@dataclass
class FakeWechat:
    appid: str = APPID
    secret: str = SECRET
    issued: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    # what to answer a customer-service message to an OpenID instead of ok: an errcode
    refuse: dict[str, int] = field(default_factory=dict)
    # errcode for every API call that needs a token (e.g. 40001 forever), or None
    always: int | None = None
    # 40164 for the token endpoint: the caller's IP is not on the allow-list
    ip_blocked: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_all(self) -> None:
        """The tokens issued so far expire (the next call with one gets 42001)."""
        with self.lock:
            self.expired |= self.valid
            self.valid.clear()

    def count(self, path: str) -> int:
        return sum(1 for _, p, _ in self.calls if p == path)

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        payload = json.loads(body) if body else None
        with self.lock:
            self.calls.append((method, path, payload))
            if body:
                self.raw_bodies.append(body)
            if path == "/cgi-bin/token":
                if self.ip_blocked:
                    return {
                        "errcode": 40164,
                        "errmsg": "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist",
                    }
                if query.get("appid") != self.appid:
                    return {"errcode": 40013, "errmsg": "invalid appid"}
                if query.get("secret") != self.secret:
                    return {"errcode": 40125, "errmsg": "invalid appsecret"}
                token = f"ACCESS_TOKEN_{len(self.issued) + 1}"
                self.issued.append(token)
                self.valid.add(token)
                return {"access_token": token, "expires_in": 7200}
            token = query.get("access_token", "")
            if token in self.expired:
                return {"errcode": 42001, "errmsg": "access_token expired"}
            if token not in self.valid:
                return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
            if self.always is not None:
                return {"errcode": self.always, "errmsg": "scripted"}
            if path == "/cgi-bin/message/custom/send":
                assert payload is not None
                code = self.refuse.get(payload["touser"])
                if code is not None:
                    return {"errcode": code, "errmsg": "scripted refusal"}
                if len(payload["text"]["content"].encode()) > 2048:
                    return {"errcode": 45002, "errmsg": "content size out of limit"}
                self.sent.append(payload)
                return {"errcode": 0, "errmsg": "ok"}
            if path == "/cgi-bin/menu/create":
                assert payload is not None
                self.menus.append(payload)
                return {"errcode": 0, "errmsg": "ok"}
            if path == "/cgi-bin/get_api_domain_ip":
                return {"ip_list": ["101.226.90.149", "101.226.90.150"]}
            return {"errcode": 40066, "errmsg": "invalid url"}


@contextmanager
def fake_wechat(api: FakeWechat | None = None) -> Iterator[tuple[FakeWechat, str]]:
    """The fake API on a free loopback port; yields it and its base URL."""
    served = api or FakeWechat()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            result = served.handle(method, url.path, query, body)
            data = json.dumps(result, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
