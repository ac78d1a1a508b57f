"""Scans and photos through the real pipeline: Tesseract reads them, the redaction door cleans what it read."""

from __future__ import annotations

import random
import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cleanroom.pii.entities import DEFAULT_REDACT_ENTITIES
from cleanroom.policies.models import ResidencyRule
from ingestion import extraction
from ingestion.extraction import ExtractionError, extract, ocr, sniff_media_type
from ingestion.models import Chunk, Document
from ingestion.quarantine import quarantine_paths
from retrieval.selectors import chunk_search
from tests.conftest import ingest
from tests.helpers.samples import aadhaar, make_eml, make_pdf, verhoeff_valid
from tests.helpers.scans import card_image, image_bytes, image_pdf, merge_pdfs, page_image

pytestmark = pytest.mark.django_db

AADHAAR = aadhaar(random.Random(18))
PAN = "BQRPS4821D"
PHONE = "+91 98450 12345"

CARD = [
    "GOVERNMENT OF INDIA",
    "Name: Kavya Iyer",
    "Date of Birth: 14/03/1988",
    "Female",
    f"Aadhaar No: {AADHAAR}",
    "Address: 42 Lake View Road,",
    "Indiranagar, Bengaluru 560038",
]
LETTER = [
    "Sahyadri Mutual Benefits Ltd",
    "12 March 2026",
    "Dear Mr Arjun Malhotra,",
    "Subject: relocation allowance",
    "We confirm that the relocation allowance for your transfer",
    "to the Pune office is 45,000 rupees, paid with the April salary.",
    f"Your PAN {PAN} is on file for the tax deduction.",
    f"For questions call Meera Nair on {PHONE}.",
    "Yours sincerely,",
    "Sunil Rao, Human Resources",
]


def _chunks(document: Document) -> str:
    return "\n".join(Chunk.objects.filter(document=document).order_by("ordinal").values_list("text", flat=True))


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_identity_card_photo_is_read_and_every_identifier_redacted(alice):
    assert verhoeff_valid(AADHAAR.replace(" ", ""))
    # A bank that keeps identity cards also removes dates of birth and addresses.
    ResidencyRule.objects.create(
        tenant=alice.tenant, redact_entities=[*DEFAULT_REDACT_ENTITIES, "DATE_TIME", "LOCATION"]
    )
    document = ingest(alice, "kyc-card.png", image_bytes(card_image(CARD), "PNG"))
    assert document.status == Document.Status.INDEXED, document.error_message
    assert document.media_type == extraction.PNG
    text = _chunks(document)
    assert "GOVERNMENT OF" in text and "Aadhaar No" in text  # the card was read
    # Tesseract reads "Iyer" as "lyer": the redaction must hold on what OCR produced, not on what was drawn.
    for value in ("Kavya", "Iyer", "lyer", "14/03/1988", "42 Lake View Road"):
        assert value not in text, value
    assert _digits(AADHAAR) not in _digits(text)
    assert {"PERSON", "IN_AADHAAR"} <= set(document.redaction_counts)
    assert not quarantine_paths(document.pk)[0].exists()  # the raw scan is deleted as for any upload


def test_tesseract_reads_a_capital_i_as_l_and_extraction_puts_names_right():
    """Why the test above checks for "lyer": Tesseract 5.3 itself reads the drawn "Iyer" so."""
    raw = ocr._tesseract(ocr._prepare(card_image(CARD)), "--psm", "6", "-l", "eng")
    assert "Kavya lyer" in raw
    text = extract(image_bytes(card_image(CARD), "PNG"), "card.png").text
    assert "Kavya Iyer" in text and AADHAAR in text
    assert (
        ocr.fix_capital_i("lshaan lyengar lives in Lyon, likes lyrics") == "Ishaan Iyengar lives in Lyon, likes lyrics"
    )


def test_scanned_letter_is_indexed_redacted_and_answers_a_question(alice):
    document = ingest(alice, "letter.jpg", image_bytes(page_image(LETTER).convert("RGB"), "JPEG", quality=85))
    assert document.status == Document.Status.INDEXED, document.error_message
    assert document.media_type == extraction.JPEG
    text = _chunks(document)
    assert "relocation allowance" in text and "45,000 rupees" in text
    for value in (PAN, "98450", "Arjun", "Malhotra", "Meera", "Sunil"):
        assert value not in text, value
    assert {"IN_PAN", "PHONE_NUMBER", "PERSON"} <= set(document.redaction_counts)

    hits = chunk_search(tenant=alice.tenant, query="relocation allowance for the transfer to Pune", k=3)
    assert hits and str(hits[0].document_id) == str(document.pk)
    body = (
        alice.client()
        .post("/api/v1/query", {"question": "How much is the relocation allowance for Pune?"}, format="json")
        .json()
    )
    cited = {citation["document_id"] for citation in body["citations"]}
    assert str(document.pk) in cited, body


@pytest.mark.parametrize(("degrees", "fmt"), [(90, "TIFF"), (180, "WEBP"), (270, "PNG")])
def test_a_page_photographed_sideways_or_upside_down_is_turned_before_reading(degrees, fmt):
    page = page_image(LETTER).rotate(degrees, expand=True, fillcolor=255)
    result = extract(image_bytes(page, fmt), f"page.{fmt.lower()}")
    assert "relocation allowance" in result.text
    assert result.manifest["ocr"]["rotated"] == {"1": degrees}  # turned clockwise by what Pillow turned it back


def test_mixed_pdf_keeps_its_text_layer_and_ocrs_only_the_scanned_page(alice):
    typed = make_pdf(["Travel policy: economy class is booked for flights under six hours."])
    data = merge_pdfs(typed, image_pdf(page_image(LETTER)))
    result = extract(data, "mixed.pdf")
    assert [section.label for section in result.sections] == ["page 1", "page 2"]
    assert "economy class" in result.sections[0].text and "relocation allowance" in result.sections[1].text
    manifest = result.manifest["ocr"]
    assert manifest["pages"] == [2]
    assert manifest["engine"] == "tesseract" and re.fullmatch(r"5\.\d+\.\d+", manifest["version"])
    assert manifest["languages"] == ["eng"]

    document = ingest(alice, "mixed.pdf", data)
    assert document.status == Document.Status.INDEXED, document.error_message
    sections = set(Chunk.objects.filter(document=document).values_list("section", flat=True))
    assert sections == {"page 1", "page 2"}
    assert PAN not in _chunks(document) and "relocation allowance" in _chunks(document)
    # The stored manifest says which pages were read by OCR, with what engine and version.
    assert document.manifest["ocr"]["pages"] == [2] and document.manifest["ocr"]["engine"] == "tesseract"


def test_multi_page_tiff_is_read_page_by_page():
    first, second = page_image(LETTER[:5]), page_image(["Second page: the annual leave is twenty days."])
    data = image_bytes(first, "TIFF", save_all=True, append_images=[second], compression="tiff_deflate")
    result = extract(data, "fax.tiff")
    assert [s.label for s in result.sections] == ["page 1", "page 2"]
    assert "annual leave" in result.sections[1].text
    assert result.manifest["ocr"]["pages"] == [1, 2]


def test_scanned_attachment_of_an_email_is_read_and_noted_by_position():
    data = make_eml(
        "Relocation",
        "Please find the scanned letter attached.",
        [("notes.txt", b"Taxi receipts go to finance."), ("Arjun letter.jpg", image_bytes(page_image(LETTER), "JPEG"))],
    )
    result = extract(data, "mail.eml")
    assert any("relocation allowance" in s.text for s in result.sections)
    assert result.manifest["ocr"]["attachments"] == {"attachment 2": [1]}  # its position, never its name


def test_text_pdf_is_not_ocrd():
    result = extract(make_pdf(["Expenses are reimbursed within thirty days of the claim."]), "policy.pdf")
    assert result.ocr is None and result.manifest == {}


def test_blank_scan_says_there_is_no_text():
    with pytest.raises(ExtractionError) as caught:
        extract(image_bytes(page_image([]), "PNG"), "blank.png")
    assert caught.value.code == "no_text"


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims to be width x height (a decompression bomb needs no more than that)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def test_image_bomb_is_refused_at_upload_from_its_header(alice):
    response = alice.client().post(
        "/api/v1/documents", {"file": SimpleUploadedFile("huge.png", _png_header(30000, 30000))}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "image_too_large"
    assert not Document.objects.exists()


def test_damaged_image_fails_with_corrupt_file(alice):
    data = image_bytes(page_image(LETTER), "PNG")
    assert sniff_media_type(data[: len(data) // 2], "cut.png") == extraction.PNG  # its header is fine
    document = ingest(alice, "cut.png", data[: len(data) // 2])
    assert document.status == Document.Status.FAILED
    assert document.error_code == "corrupt_file"
    assert "damaged" in document.error_message


def test_image_that_pillow_cannot_identify_is_unsupported():
    with pytest.raises(ExtractionError) as caught:
        sniff_media_type(b"RIFF\x10\x00\x00\x00WEBPVP8 garbage", "photo.webp")
    assert caught.value.code == "unsupported_media_type"


def test_scan_without_an_installed_ocr_engine_fails_with_a_clear_code(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    ocr.tesseract_version.cache_clear()
    try:
        with pytest.raises(ExtractionError) as caught:
            extract(image_bytes(page_image(LETTER), "PNG"), "letter.png")
    finally:
        ocr.tesseract_version.cache_clear()
    assert caught.value.code == "ocr_unavailable"
