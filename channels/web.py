"""The web channel: the consultation widget, the public pages and the HTTP edge that protects
the public API (allowed origins, per-client rate limits, security headers).

A pull channel: it registers no deliverer; staff replies reach the widget through the messages
API and the event stream of the conversations service.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from channels import web_assets, web_pages
from service.config import Settings
from service.http.counters import open_counters
from service.http.origins import AllowedOrigins
from service.http.rate_limit import RateLimit
from service.http.security_headers import SecurityHeaders

log = logging.getLogger("policyqa.web")


def mount(app: FastAPI, settings: Settings) -> None:
    edge = settings
    app.include_router(web_assets.router)
    app.include_router(web_pages.router)
    counters = open_counters(edge, index_dir=settings.index_dir)
    # Added innermost first: security headers wrap everything, then the origin check (a refused
    # origin never counts against a client's limit), then the rate limit.
    app.add_middleware(RateLimit, counters=counters, per_minute=edge.rate_limit_per_minute)
    app.add_middleware(AllowedOrigins, origins=edge.origins())
    app.add_middleware(SecurityHeaders)
    log.info(
        "web channel: %d allowed origins, rate limit %d/min per client (%s)",
        len(edge.origins()),
        edge.rate_limit_per_minute,
        counters.kind,
    )
