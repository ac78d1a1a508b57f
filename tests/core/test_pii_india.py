"""Recall on a generated set of Indian identifiers, phone numbers and names (tests/helpers/india_set.py), and no Aadhaar
for a number whose Verhoeff check digit is wrong."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from cleanroom.pii.engine import detect_many, redact
from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES
from cleanroom.pii.india import aadhaar_valid, gstin_valid
from cleanroom.pii.redaction import resolve_overlaps
from tests.helpers.india_set import (
    GIVEN,
    IDENTIFIER_KINDS,
    SURNAMES,
    build,
    gstin,
    invalid_aadhaar_lookalikes,
    vehicle,
)
from tests.helpers.samples import aadhaar, verhoeff_check_digit

PER_KIND = 150
HONORIFIC = re.compile(r"^(?:Shri|Smt|Sri|Dr|Mr|Mrs|Ms|Kumari|Prof)$")


def _recall_by_kind(samples, spans) -> tuple[Counter, Counter, Counter]:
    total, redacted, typed = Counter(), Counter(), Counter()
    for sample, found in zip(samples, spans, strict=True):
        start = sample.text.index(sample.value)
        covered = {i for span in resolve_overlaps(found) for i in range(span.start, span.end)}
        # Every letter or digit of the value must be gone (an honorific before a name may stay).
        needed = [
            start + m.start() + k
            for m in re.finditer(r"[^\W_]+", sample.value)
            if not HONORIFIC.match(m.group(0))
            for k in range(len(m.group(0)))
        ]
        total[sample.kind] += 1
        if all(i in covered for i in needed):
            redacted[sample.kind] += 1
            if any(s.entity_type == sample.kind and s.start <= min(needed) < s.end for s in resolve_overlaps(found)):
                typed[sample.kind] += 1
    return total, redacted, typed


@pytest.fixture(scope="module")
def india_results():
    samples = build(random.Random(20261125), PER_KIND)
    spans = detect_many([s.text for s in samples], entities=DEFAULT_REDACT_ENTITIES)
    return _recall_by_kind(samples, spans)


@pytest.mark.parametrize("kind", IDENTIFIER_KINDS)
def test_valid_indian_identifiers_are_redacted_with_their_type(india_results, kind):
    total, redacted, typed = india_results
    assert redacted[kind] / total[kind] >= 0.99, f"{kind}: {redacted[kind]}/{total[kind]} redacted"
    assert typed[kind] / total[kind] >= 0.97, f"{kind}: {typed[kind]}/{total[kind]} with the right type"


def test_indian_names_in_several_styles_are_mostly_redacted(india_results):
    total, redacted, _ = india_results
    # Names have no checksum; "Hegde, Omkar" with an unlisted given name can still slip through.
    assert redacted["PERSON"] / total["PERSON"] >= 0.9


def test_aadhaar_with_a_wrong_check_digit_is_not_called_aadhaar():
    rng = random.Random(5)
    texts = invalid_aadhaar_lookalikes(rng, 100) + [f"Aadhaar: {aadhaar(rng, valid=False)}" for _ in range(50)]
    spans = detect_many(texts, entities=DEFAULT_REDACT_ENTITIES)
    assert not [s for found in spans for s in found if s.entity_type == "IN_AADHAAR"]


def test_check_digit_validators():
    rng = random.Random(9)
    assert all(aadhaar_valid(aadhaar(rng)) for _ in range(50))
    assert not any(aadhaar_valid(aadhaar(rng, valid=False)) for _ in range(50))
    assert all(gstin_valid(gstin(rng)) for _ in range(50))
    code = gstin(rng)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert not gstin_valid(wrong)


def _spaced_aadhaar(separator: str) -> str:
    body = "23456789012"
    number = body + str(verhoeff_check_digit(body))
    return separator.join([number[:4], number[4:8], number[8:]])


@pytest.mark.parametrize(
    "text",
    [
        "PAN ABCPE-1234-F on file",
        "PAN ABCPE 1234 F on file",
        f"Aadhaar {_spaced_aadhaar('-')} on file",
        f"Aadhaar {_spaced_aadhaar(' ')} on file",
    ],
)
def test_identifiers_split_by_spaces_or_hyphens_are_found_whole(text):
    result = redact(text, entities=DEFAULT_REDACT_ENTITIES)
    assert re.fullmatch(r"\w+ <IN_(?:PAN|AADHAAR)> on file", result.text), result.text


def test_vehicle_registrations_in_every_separator_style():
    rng = random.Random(3)
    for _ in range(30):
        plate = vehicle(rng)
        result = redact(f"Vehicle {plate} was towed.", entities=DEFAULT_REDACT_ENTITIES)
        assert result.text == "Vehicle <IN_VEHICLE_REGISTRATION> was towed.", plate


# --- Names in the styles of Indian records, and towns that are no people ------------------------------------------

MARKED_STYLES = (
    "The statement of {initials}{surname} was recorded on the same day.",
    "Heard {initials} {surname}, learned counsel for the petitioner.",
    "{given} {surname} (PW-{n}) deposed that the amount was paid in cash.",
    "{given} {surname}-PW.{n} identified the accused in court.",
    "Learned Counsel for {given} submitted that the order was bad in law.",
    "The land stands in the name of Lakshmi, W/o {given} {surname}, since 1998.",
    "Ration card issued to {given} {surname}, S/o {father}, of ward {n}.",
)


def _initials(rng: random.Random) -> str:
    letters = rng.sample("ABCDGHKLMNPRSTV", rng.choice((1, 2)))
    return "".join(f"{letter}." for letter in letters)


@pytest.mark.parametrize("style", MARKED_STYLES)
def test_names_marked_by_initials_witness_numbers_counsel_or_relation_are_found(style):
    rng = random.Random(style)
    found = 0
    for _ in range(8):
        values = {
            "initials": _initials(rng),
            "surname": rng.choice(SURNAMES),
            "given": rng.choice(GIVEN),
            "father": rng.choice(GIVEN),
            "n": rng.randint(1, 9),
        }
        text = style.format(**values)
        redacted = redact(text, entities=["PERSON"]).text
        named = [values[key] for key in ("given", "surname", "father") if "{" + key + "}" in style]
        found += all(part not in redacted for part in named)
    assert found >= 7, style


@pytest.mark.parametrize(
    "text",
    [
        "What happened at the Surat dyeing unit last year?",
        "Our plants in Pune, Nagpur and Coimbatore run two shifts.",
        "The Ludhiana office handles exports; Kanpur handles leather.",
        "Effluent from the Tiruppur cluster reaches the river.",
    ],
)
def test_indian_towns_are_not_people(text):
    assert redact(text, entities=["PERSON"]).text == text


def test_a_town_that_is_also_a_name_stays_a_name_without_place_words():
    text = "Anand signed the register and left early."
    assert "Anand" not in redact(text, entities=["PERSON"]).text
