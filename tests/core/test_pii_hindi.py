"""Hindi text through the one redaction door: Indian identifiers in Devanagari digits, names in Devanagari."""

from __future__ import annotations

import random

import pytest

from cleanroom.pii.devanagari import ascii_digits, find_devanagari_names
from cleanroom.redaction import pii_redact_text
from ingestion.models import Chunk, Document
from retrieval.selectors import chunk_search
from tests.conftest import ingest
from tests.helpers.samples import aadhaar

pytestmark = pytest.mark.django_db

DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
AADHAAR = aadhaar(random.Random(42))
AADHAAR_HINDI = AADHAAR.translate(DEVANAGARI)


def test_devanagari_digits_become_ascii_one_for_one():
    assert ascii_digits("आधार ४१७५ ३३७७") == "आधार 4175 3377"
    assert ascii_digits("৪২ ੩੪ ૫૬ ௭௮") == "42 34 56 78"  # Bengali, Gurmukhi, Gujarati, Tamil
    assert len(ascii_digits(AADHAAR_HINDI)) == len(AADHAAR_HINDI)


@pytest.mark.parametrize(
    "template",
    ["आधार संख्या: {v}", "आवेदक का आधार {v} है।", "Aadhaar {v} of the applicant"],
)
def test_aadhaar_in_devanagari_digits_is_redacted(alice, template):
    redacted = pii_redact_text(tenant=alice.tenant, text=template.format(v=AADHAAR_HINDI))
    assert AADHAAR_HINDI not in redacted and "<IN_AADHAAR>" in redacted


def test_phone_in_devanagari_digits_is_redacted(alice):
    redacted = pii_redact_text(tenant=alice.tenant, text="संपर्क करें: मोबाइल +९१ ९८४५० १२३४५")
    assert "९८४५०" not in redacted and "<PHONE_NUMBER>" in redacted


def test_invalid_aadhaar_in_devanagari_digits_is_not_redacted(alice):
    digits = AADHAAR.replace(" ", "")
    wrong = (digits[:-1] + str((int(digits[-1]) + 1) % 10)).translate(DEVANAGARI)
    assert wrong in pii_redact_text(tenant=alice.tenant, text=f"क्रमांक {wrong} देखें")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("नाम: प्रिया शर्मा, पिता का नाम: राजेश कुमार", ["प्रिया शर्मा", "राजेश कुमार"]),
        ("श्रीमती सुनीता देवी ने आवेदन किया।", ["सुनीता देवी"]),
        ("आवेदक: अनिल यादव पुत्र श्री रामेश्वर प्रसाद, निवासी ग्राम सीतापुर", ["अनिल यादव", "रामेश्वर प्रसाद"]),
        ("यह पत्र डॉ. मीनाक्षी अय्यर को भेजा गया है।", ["मीनाक्षी अय्यर"]),
        ("खाताधारक - मोहम्मद इरफ़ान अंसारी", ["मोहम्मद इरफ़ान अंसारी"]),
    ],
)
def test_names_written_in_devanagari_are_redacted(alice, text, names):
    redacted = pii_redact_text(tenant=alice.tenant, text=text)
    for name in names:
        assert name not in redacted
        for word in name.split():
            assert word not in redacted, word
    assert "<PERSON>" in redacted


def test_hindi_text_without_names_is_left_alone():
    for text in (
        "भारत सरकार की योजना के अंतर्गत किसानों को सहायता दी जाती है।",
        "कंपनी ने इस वर्ष १२ प्रतिशत वृद्धि दर्ज की।",
        "वार्षिक अवकाश बीस दिन का है।",
    ):
        assert find_devanagari_names(text) == [], text


def test_hindi_document_through_the_pipeline(alice):
    text = (
        "अवकाश नीति\n\nकर्मचारी का नाम: सुरेश कुमार वर्मा\n"
        f"आधार: {AADHAAR_HINDI}\nमोबाइल: ९८४५० १२३४५\n\nवार्षिक अवकाश बीस दिन का है।\n"
    )
    document = ingest(alice, "niti.txt", text.encode())
    assert document.status == Document.Status.INDEXED, document.error_message
    stored = " ".join(Chunk.objects.filter(document=document).values_list("text", flat=True))
    assert "वार्षिक अवकाश बीस दिन" in stored
    for value in ("सुरेश", "वर्मा", AADHAAR_HINDI, "९८४५०"):
        assert value not in stored, value
    assert {"PERSON", "IN_AADHAAR", "PHONE_NUMBER"} <= set(document.redaction_counts)


def test_lexical_search_finds_hindi_words(alice):
    """The embedded PostgreSQL's C.UTF-8 ctype makes Devanagari words `word` tokens that the English Snowball
    stemmer leaves whole, so BM25 matches them (no Hindi stemming: "कर्मचारियों" does not find "कर्मचारी")."""
    leave_text = "वार्षिक अवकाश नीति\n\nप्रत्येक कर्मचारी को बीस दिन का वार्षिक अवकाश मिलता है।"
    travel_text = "यात्रा नीति\n\nछह घंटे से कम की उड़ानों के लिए इकॉनमी श्रेणी बुक की जाती है।"
    leave = ingest(alice, "avkash.txt", leave_text.encode())
    travel = ingest(alice, "yatra.txt", travel_text.encode())
    assert leave.status == travel.status == Document.Status.INDEXED
    hits = chunk_search(tenant=alice.tenant, query="वार्षिक अवकाश कितने दिन", k=5, mode="lexical")
    assert [str(hit.document_id) for hit in hits] == [str(leave.pk)]
    hits = chunk_search(tenant=alice.tenant, query="उड़ानों के लिए श्रेणी", k=5, mode="lexical")
    assert str(hits[0].document_id) == str(travel.pk)
