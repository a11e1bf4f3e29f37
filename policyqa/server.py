"""Assembles the served application: the answering service plus the enabled channels.

The service (``service/``) never imports a channel; this module is where they meet. Each channel
module in ``channels/`` exposes ``mount(app, settings)``: it includes its routers and, when it
pushes staff replies itself (WeChat), registers a ``service.delivery.Deliverer`` in
``app.state.deliverers[name]``. A channel that is not configured mounts a route that says so and
never stops the rest of the service.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from channels import web
from service.app import create_app
from service.config import Settings

Mount = Callable[[FastAPI, Settings], None]


def channel_mounts() -> list[Mount]:
    """The channels this build serves, in the order their routes are added."""
    return [web.mount]


def create_server(settings: Settings | None = None) -> FastAPI:
    """The uvicorn factory (``policyqa serve``): settings from the POLICYQA_* variables."""
    if settings is None:
        settings = Settings()  # type: ignore[call-arg]  # index_dir comes from the environment
    app = create_app(settings)
    if not hasattr(app.state, "deliverers"):
        app.state.deliverers = {}
    for mount in channel_mounts():
        mount(app, settings)
    return app
