"""Domain errors of the conversation, desk and staff layers, each with a Chinese message; the
HTTP edge (``service/routes/problems.py``) maps them to status codes."""

from __future__ import annotations


class Problem(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(Problem):
    status = 404


class Conflict(Problem):
    """The action does not fit the current state (a closed ticket, a claimed ticket)."""

    status = 409


class Invalid(Problem):
    status = 422


class TooLarge(Problem):
    """An upload over its size limit."""

    status = 413


class UnsupportedFile(Problem):
    """An upload whose type is not supported or whose content is not what its name says."""

    status = 415


class Unauthenticated(Problem):
    status = 401


class Forbidden(Problem):
    status = 403


class TooManyAttempts(Problem):
    status = 429


class Unavailable(Problem):
    status = 503
