"""Personal numbers masked before a text is stored or logged: mainland ID-card numbers
(18 characters with a valid check digit), mainland mobile numbers and bank card numbers
(16–19 digits passing the Luhn check, also written in groups)."""

from __future__ import annotations

import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{17}[0-9Xx])(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{4}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?)(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")


def _valid_id_card(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _id_card(match: re.Match[str]) -> str:
    number = match.group(1)
    if not _valid_id_card(number):
        return number
    return number[:6] + "*" * 8 + number[-4:]


def _card(match: re.Match[str]) -> str:
    written = match.group(1)
    digits = re.sub(r"[ -]", "", written)
    if not 16 <= len(digits) <= 19 or not _luhn(digits):
        return written
    return "*" * (len(digits) - 4) + digits[-4:]


def _mobile(match: re.Match[str]) -> str:
    return f"{match.group(1)}****{match.group(3)}"


def mask(text: str) -> str:
    """``text`` with every recognised personal number masked (the rest unchanged)."""
    text = _ID_CARD.sub(_id_card, text)
    text = _CARD.sub(_card, text)
    return _MOBILE.sub(_mobile, text)
