from __future__ import annotations

import random

import pytest

from cleanroom.pii.engine import redact, split_segments
from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES
from cleanroom.pii.redaction import Span, apply_redactions
from tests.helpers.samples import aadhaar, pan, verhoeff_valid

RNG = random.Random(20261125)


def test_overlapping_spans_keep_the_strongest():
    result = apply_redactions(
        "Call 2345 6789 0124 now",
        [Span(5, 19, "IN_AADHAAR", 1.0), Span(5, 9, "DATE_TIME", 0.6), Span(10, 19, "PHONE_NUMBER", 0.4)],
    )
    assert result.text == "Call <IN_AADHAAR> now"
    assert result.counts == {"IN_AADHAAR": 1}


def test_segments_cover_the_text_exactly():
    text = ("line of text\n" * 5000).strip()
    segments = split_segments(text, limit=1000)
    assert "".join(piece for _, piece in segments) == text
    assert all(text[offset : offset + len(piece)] == piece for offset, piece in segments)


def test_samples_generate_valid_and_invalid_aadhaar():
    assert verhoeff_valid(aadhaar(RNG, spaced=False))
    assert not verhoeff_valid(aadhaar(RNG, valid=False, spaced=False))


@pytest.mark.parametrize("spaced", [True, False])
def test_valid_aadhaar_pan_and_contacts_are_redacted(spaced):
    number, pan_number = aadhaar(RNG, spaced=spaced), pan(RNG)
    text = (
        f"Applicant Priya Raghavan (priya.raghavan@example.org, phone +91 98450 12345) submitted Aadhaar "
        f"{number} and PAN {pan_number} on 4 March 2025 in Bengaluru."
    )
    result = redact(text, entities=DEFAULT_REDACT_ENTITIES)
    for raw in ["Priya", "Raghavan", "priya.raghavan@example.org", "98450", number, pan_number]:
        assert raw not in result.text
    assert "<IN_AADHAAR>" in result.text
    assert "<IN_PAN>" in result.text
    assert "<EMAIL_ADDRESS>" in result.text
    # The default policy keeps dates and places: documents need them to stay useful.
    assert "4 March 2025" in result.text
    assert "Bengaluru" in result.text


def test_invalid_aadhaar_lookalike_is_not_called_aadhaar():
    number = aadhaar(RNG, valid=False)
    result = redact(f"Reference {number} was filed.", entities=DEFAULT_REDACT_ENTITIES)
    assert "IN_AADHAAR" not in result.counts


def test_policy_entities_decide_what_is_redacted():
    text = "John Smith lives in Paris and wrote on 3 May 2024."
    narrow = redact(text, entities=["EMAIL_ADDRESS"])
    assert narrow.text == text
    wide = redact(text, entities=["PERSON", "LOCATION", "DATE_TIME"])
    assert "John Smith" not in wide.text and "Paris" not in wide.text and "3 May 2024" not in wide.text


def test_identifier_type_words_survive():
    result = redact("Quote the PAN and the Aadhaar number on the form.", entities=DEFAULT_REDACT_ENTITIES)
    assert "PAN" in result.text and "Aadhaar" in result.text


def test_addresses_on_internal_domains_are_redacted_too():
    result = redact("Mail anita.desai@corp.example or payroll@bank.internal today.", entities=["EMAIL_ADDRESS"])
    assert result.text == "Mail <EMAIL_ADDRESS> or <EMAIL_ADDRESS> today."


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Badges are issued by Kavya Iyer on Monday.", "Kavya Iyer"),
        ("Smt. Sunita Devi signed the form.", "Sunita Devi"),
        ("Applicant: Mohan Lal\nDate: today", "Mohan Lal"),
        ("Property of Anil Kumar W/o none", "Anil Kumar"),
        ("wife of Shri Ramesh Yadav, resident of Patna", "Ramesh Yadav"),
    ],
)
def test_name_recognizer_finds_indian_names_and_labelled_names(text, name):
    from cleanroom.pii.names import find_names

    spans = {text[start:end] for start, end, _ in find_names(text)}
    assert name in spans


def test_name_recognizer_leaves_ordinary_capitalised_text_alone():
    from cleanroom.pii.names import find_names

    assert find_names("The Reserve Bank of India publishes the Annual Report in June.") == []


def test_name_broken_across_a_pdf_line_is_found_whole():
    from cleanroom.pii.names import find_names

    text = "For payroll contact Anita\nDesai in the finance team."
    assert "Anita\nDesai" in {text[start:end] for start, end, _ in find_names(text)}
