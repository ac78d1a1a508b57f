"""Recognizers and filters that make Presidio's generic detection fit real documents better:
- numbers that a context word calls a card or a phone, even when Luhn or the phone-number library rejects them
  (a mistyped card number still identifies its holder; foreign phone formats are many);
- spaCy calls many bare numbers DATE (house numbers, postcodes); only date-shaped spans are kept as DATE_TIME.
Presidio is imported lazily (see names.py)."""

from __future__ import annotations

import re
from typing import Any

CARD_NUMBER = r"\b\d{12,19}\b|\b\d{4}([ \-])\d{4}\1\d{4}\1\d{1,7}\b"
PHONE_NUMBER = (
    r"(?<![\w+])(?:\+\d{1,3}[ .\-]?)?(?:\(0?\d{1,4}\)[ .\-]?)?\d{2,5}(?:[ .\-]\d{2,5}){0,4}"
    r"(?:[ \t]*(?:x|ext\.?)[ \t]*\d{1,5})?(?!\w)"
)
_DIGITS = re.compile(r"\d")
_DATE_SHAPED = re.compile(
    r"[A-Za-z]|^(?:1[89]|20)\d\d$|\d{1,2}:\d{2}|^\d{1,4}[\-/.]\d{1,2}[\-/.]\d{1,4}$|^\d{1,2}(?:st|nd|rd|th)$"
)
_RELATIVE = re.compile(
    r"^(?:(?:this|next|last|past|coming|every|each|a|an|the|couple|of|few|several|one|two|three|first|second|"
    r"third|following|previous|age|at|in|within|over|about|\d{1,3}(?:s|st|nd|rd|th|\+)?|"
    r"day|days|week|weeks|month|months|year|years|today|tomorrow|yesterday|tonight|now|morning|evening|"
    r"afternoon|night|weekend|daily|weekly|monthly|yearly|annually|old|ago|later|earlier|recently|soon)\b[ \t-]*)+$",
    re.IGNORECASE,
)


def plausible_date(text: str) -> bool:
    """True for a date or time that could point at someone ("4 March 2025", "1977", "2006-04-07 09:00"), False
    for a bare number (a house number or postcode that spaCy tags DATE), an age or a relative phrase."""
    stripped = text.strip()
    if _RELATIVE.match(stripped) or re.search(r"\byears?[ \t-]+old\b", stripped, re.IGNORECASE):
        return False
    return bool(_DATE_SHAPED.search(stripped))


def phone_digits_ok(text: str) -> bool:
    count = len(_DIGITS.findall(text))
    return 7 <= count <= 15 and not re.fullmatch(r"(?:1[89]|20)\d\d[\-/.]\d{1,2}[\-/.]\d{1,2}", text.strip())


def generic_recognizers() -> list[Any]:
    from presidio_analyzer import Pattern, PatternRecognizer

    class PhoneInContext(PatternRecognizer):
        def validate_result(self, pattern_text: str) -> bool | None:
            return None if phone_digits_ok(pattern_text) else False

    return [
        # Base scores below the threshold: only a context word ("card", "phone") lifts them to 0.4.
        PatternRecognizer(
            supported_entity="CREDIT_CARD",
            name="CardNumberInContext",
            patterns=[Pattern(name="card_in_context", regex=CARD_NUMBER, score=0.05)],
            context=["card", "credit", "debit", "visa", "mastercard", "amex", "maestro", "rupay"],
        ),
        PhoneInContext(
            supported_entity="PHONE_NUMBER",
            name="PhoneInContext",
            patterns=[Pattern(name="phone_in_context", regex=PHONE_NUMBER, score=0.05)],
            context=[
                "phone",
                "mobile",
                "cell",
                "tel",
                "telephone",
                "fax",
                "call",
                "desk",
                "office",
                "contact",
                "whatsapp",
                "sms",
                "text",
                "messages",
                "number",
                "reach",
                "ring",
                "dial",
            ],
        ),
    ]
