"""The one small contract between the service and a channel (the website widget, WeChat…).

The service never imports a channel. A channel module (``channels/<name>.py``) implements this
protocol and is registered when the application is assembled; the handoff desk then calls
``deliver`` to bring a staff member's reply to the citizen on the channel the conversation came
from. Every staff message is stored first, so a pull channel (the web widget reads the messages
API and the event stream) reports it delivered at once; a push channel (WeChat's customer-service
message API) reports whether the platform accepted it and, when not, why, in Chinese, for the
ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    reason: str | None = None  # shown on the ticket when the message could not be delivered


class Deliverer(Protocol):
    """The output side of a channel."""

    name: str  # the channel name recorded with every conversation: "web", "wechat"

    async def deliver(self, *, session_key: str, text: str) -> Delivery:
        """Send one staff message to the citizen behind ``session_key`` (the channel's own
        address of the conversation: the session id for the web, the OpenID for WeChat)."""
        ...
