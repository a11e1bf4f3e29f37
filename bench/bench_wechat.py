"""What the WeChat channel adds to a request, before and after answering: signature, freshness,
the markup gate, de-duplication in the shared state (SQLite file or Redis), decryption, parsing,
reply rendering and encryption. Measured in-process through ``/wechat`` with subscribe events
(they are answered with the welcome text, so no index is needed).

    .venv/bin/python bench/bench_wechat.py [--requests N] [--redis URL]

Prints the median and 95th percentile per request in plain and safe mode.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import REPO, code_version, log

sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402

from channels import wechat  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from tests.wechat_helpers import safe_mode, signed, wechat_env  # noqa: E402


def subscribe(n: int) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>"
        f"<FromUserName><![CDATA[oBench{n:08d}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[subscribe]]></Event></xml>"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--redis", help="share the state through this Redis instead of SQLite")
    args = parser.parse_args()
    log(f"commit {code_version()}; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        env = wechat_env("http://127.0.0.1:9", Path(tmp) / "state.sqlite")
        if args.redis:
            env["REDIS_URL"] = args.redis
            env["WECHAT_APPID"] = f"wx{secrets.token_hex(8)}"  # fresh keys
        os.environ.update(env)
        settings = Settings(index_dir=Path(tmp) / "no-index")
        app = create_app(settings)
        app.state.deliverers = {}
        wechat.mount(app, settings)
        if isinstance(app.state.wechat, str):
            raise SystemExit(app.state.wechat)
        http = TestClient(app)
        for mode in ("plain", "safe"):
            times = []
            for n in range(args.requests):
                if mode == "plain":
                    params, body = signed(), subscribe(n)
                else:
                    params, body = safe_mode(subscribe(n), appid=env["WECHAT_APPID"])
                start = time.perf_counter()
                r = http.post("/wechat", params=params, content=body.encode())
                times.append((time.perf_counter() - start) * 1000)
                assert r.status_code == 200 and "CDATA" in r.text, r.text
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            state = "Redis" if args.redis else "SQLite"
            print(
                f"{mode:5} mode, {state}: {args.requests} requests, median "
                f"{statistics.median(times):.2f} ms, p95 {p95:.2f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
