"""The OpenAPI ``responses`` table of a route's refusals.

Every refusal has the ErrorResponse shape (service/errors.py), so a router names only its status
codes, with a description where the code alone does not say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.schemas import ErrorResponse

Responses = dict[int | str, dict[str, Any]]


def refusals(*codes: int, described: Mapping[int, str] | None = None) -> Responses:
    """``{code: {"model": ErrorResponse}}`` for each code, plus the described ones."""
    table: Responses = {code: {"model": ErrorResponse} for code in codes}
    for code, description in (described or {}).items():
        table[code] = {"model": ErrorResponse, "description": description}
    return table
