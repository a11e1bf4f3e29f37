"""Channels: where citizens meet the service (the website widget and pages, WeChat)."""
