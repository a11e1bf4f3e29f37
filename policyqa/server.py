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

from service import config
from service.app import create_app
from service.config import Settings
from service.runtime import configure_serving_process

Mount = Callable[[FastAPI, Settings], None]


def channel_mounts() -> list[Mount]:
    """The channels this build serves, in the order their routes are added."""
    from channels import web, wechat

    return [web.mount, wechat.mount]


def create_server(settings: Settings | None = None) -> FastAPI:
    """The uvicorn factory (``policyqa serve``, ``uvicorn --factory``): settings from the
    POLICYQA_* variables (config.ConfigError names a bad one); the process set up for serving."""
    if settings is None:
        settings = config.load()
    configure_serving_process()
    app = create_app(settings)  # app.state.deliverers: the desk's registry (service/routes/state)
    for mount in channel_mounts():
        mount(app, settings)
    return app
