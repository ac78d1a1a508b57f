"""Recognizers for Indian identifiers, stricter and more tolerant than Presidio's own: check digits where the format
has one (Aadhaar's Verhoeff digit, GSTIN's mod-36 character), identifiers split by spaces or hyphens, the Bharat
vehicle series, and context words from Indian forms. Presidio is imported lazily (see names.py)."""

from __future__ import annotations

import re
from typing import Any

# Verhoeff tables (dihedral group D5): Aadhaar's 12th digit is a Verhoeff check digit.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_ALNUM36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SEPARATORS = re.compile(r"[\s\-./]")


def compact(value: str) -> str:
    return _SEPARATORS.sub("", value).upper()


def verhoeff_valid(digits: str) -> bool:
    check = 0
    for i, digit in enumerate(reversed(digits)):
        check = _D[check][_P[i % 8][int(digit)]]
    return check == 0


def aadhaar_valid(value: str) -> bool:
    digits = compact(value)
    # UIDAI never issues numbers starting 0 or 1; a palindrome or one repeated digit is a placeholder.
    return (
        len(digits) == 12
        and digits.isdigit()
        and digits[0] not in "01"
        and digits != digits[::-1]
        and len(set(digits)) > 1
        and verhoeff_valid(digits)
    )


def gstin_valid(value: str) -> bool:
    code = compact(value)
    if len(code) != 15 or any(ch not in _ALNUM36 for ch in code):
        return False
    total = 0
    for i, ch in enumerate(code[:14]):
        product = _ALNUM36.index(ch) * (2 if i % 2 else 1)
        total += product // 36 + product % 36
    return 1 <= int(code[:2]) <= 38 and _ALNUM36[(36 - total % 36) % 36] == code[14]


STATE_CODES = (
    "AN AP AR AS BR CG CH DD DL DN GA GJ HP HR JH JK KA KL LA LD MH ML MN MP MZ NL OD OR PB PY RJ SK TN TR TS UK UA "
    "UP WB"
).split()
_SEP = r"[ \-]?"
_PAN_HOLDER = "ABCFGHJLPT"  # the PAN's 4th letter: the holder's kind (P person, C company ...)

# (entity, name, regex, base score, validator or None, context words)
SPECS: tuple[tuple[str, str, str, float, str | None, tuple[str, ...]], ...] = (
    (
        "IN_AADHAAR",
        "aadhaar",
        r"(?<![\w\-])[2-9]\d{3}([ \-]?)\d{4}\1\d{4}(?![\w\-])",
        0.5,
        "aadhaar",
        ("aadhaar", "aadhar", "adhaar", "uid", "uidai", "uin", "enrolment", "eid"),
    ),
    (
        "IN_PAN",
        "pan",
        rf"\b[A-Z]{{3}}[{_PAN_HOLDER}][A-Z]{_SEP}\d{{4}}{_SEP}[A-Z]\b",
        0.85,
        None,
        ("pan", "permanent account number", "income tax", "tds", "itr"),
    ),
    (
        "IN_GSTIN",
        "gstin",
        rf"\b(?:0[1-9]|[1-3]\d){_SEP}[A-Z]{{3}}[{_PAN_HOLDER}][A-Z]\d{{4}}[A-Z]{_SEP}[1-9A-Z]{_SEP}Z{_SEP}[0-9A-Z]\b",
        0.6,
        "gstin",
        ("gst", "gstin", "gstn", "uin", "tax invoice", "registration"),
    ),
    (
        "IN_VOTER",
        "voter",
        r"\b[A-Z]{3}\d{7}\b",
        0.5,
        None,
        ("voter", "epic", "elector", "election", "electoral", "polling"),
    ),
    (
        "IN_PASSPORT",
        "passport",
        r"\b[A-PR-WY][1-9]\d{6}\b|\b[A-PR-WY][1-9]\d\s\d{4}\d\b",
        0.1,
        None,
        ("passport", "travel document", "ecr", "visa", "emigration"),
    ),
    (
        "IN_VEHICLE_REGISTRATION",
        "vehicle",
        rf"\b(?:{'|'.join(STATE_CODES)}){_SEP}\d{{1,2}}{_SEP}(?:[A-Z]{{1,3}}{_SEP})?\d{{4}}\b"
        rf"|\b\d{{2}}{_SEP}BH{_SEP}\d{{4}}{_SEP}[A-Z]{{1,2}}\b",
        0.5,
        None,
        ("vehicle", "registration", "reg", "car", "bike", "motorcycle", "scooter", "two-wheeler", "challan", "rc"),
    ),
    (
        "PHONE_NUMBER",
        "in_phone",
        # Mobiles (6-9 then nine digits) with +91/0 prefixes and any 5-5 or 2-4-4 grouping; landlines with an STD
        # code (011, 080, 0124 ...) written 0XX-XXXXXXXX, (0XX) XXXX XXXX or +91 XX XXXXXXXX.
        r"(?<![\w+])(?:(?:\+91|0091|91)[ \-]?|0)?[6-9]\d{4}[ \-]?\d{5}(?!\w)"
        r"|(?<![\w+])(?:\+91|0091)[ \-]?[6-9]\d[ \-]?\d{4}[ \-]?\d{4}(?!\w)"
        r"|(?<![\w+])(?:\+91[ \-]?|\(0|0)[1-9]\d{1,3}\)?[ \-]?[2-6]\d{2,3}[ \-]?\d{4}(?!\w)",
        0.55,
        None,
        ("phone", "mobile", "mob", "ph", "tel", "telephone", "contact", "call", "whatsapp", "cell"),
    ),
)


def india_recognizers() -> list[Any]:
    from presidio_analyzer import Pattern, PatternRecognizer

    validators = {"aadhaar": aadhaar_valid, "gstin": gstin_valid}

    class IndiaRecognizer(PatternRecognizer):
        def __init__(self, entity: str, name: str, regex: str, score: float, validator: str | None, context: tuple):
            self._validator = validators.get(validator) if validator else None
            super().__init__(
                supported_entity=entity,
                name=f"India{name.title()}Recognizer",
                # Analyze runs with IGNORECASE; identifiers are upper case ("pan1234567" in prose is not a PAN).
                patterns=[Pattern(name=name, regex=f"(?-i:{regex})", score=score)],
                context=list(context),
                supported_language="en",
            )

        def validate_result(self, pattern_text: str) -> bool | None:
            if self._validator is None:
                return None
            # True raises the score to 1.0; False drops the match (a wrong check digit is not this identifier).
            return self._validator(pattern_text)

    return [IndiaRecognizer(*spec) for spec in SPECS]
