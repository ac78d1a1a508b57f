from __future__ import annotations

import io
import zipfile

import pytest

from ingestion import extraction
from ingestion.extraction import ExtractionError, extract, sniff_media_type
from tests.samples import make_docx, make_pdf


def test_pdf_text_keeps_page_numbers():
    result = extract(make_pdf(["Refund policy", "Refunds are paid within 14 days."]), "policy.pdf")
    assert result.media_type == extraction.PDF
    assert [s.label for s in result.sections] == ["page 1", "page 2"]
    assert "within 14 days" in result.sections[1].text


def test_docx_headings_become_section_labels():
    data = make_docx("Travel rules", ["Economy class is used for flights under six hours."])
    result = extract(data, "travel.docx")
    assert result.media_type == extraction.DOCX
    assert result.sections[0].label == "Travel rules"
    assert "Economy class" in result.text


def test_html_drops_scripts_and_styles():
    html = (
        b"<html><head><title>T</title><style>p{color:red}</style><script>alert('x')</script></head>"
        b"<body><p>Visible text only.</p></body></html>"
    )
    result = extract(html, "page.html")
    assert result.media_type == extraction.HTML
    assert "Visible text only." in result.text
    assert "alert" not in result.text and "color" not in result.text


def test_markdown_headings_label_sections():
    result = extract(b"# Intro\nHello.\n\n## Fees\nThe fee is 10 EUR.\n", "notes.md")
    assert [s.label for s in result.sections] == ["Intro", "Fees"]


def test_text_in_latin1_is_decoded_not_crashed():
    data = "Café prices rose in Zürich; the président approved.".encode("latin-1")
    assert "Zürich" in extract(data, "notes.txt").text


def test_utf16_text_with_bom_is_decoded():
    data = "Überstunden werden mit 25 % Zuschlag vergütet.".encode("utf-16")
    assert sniff_media_type(data, "notes.txt") == extraction.TEXT
    assert "Zuschlag vergütet" in extract(data, "notes.txt").text


def test_type_is_decided_by_content_not_name():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    with pytest.raises(ExtractionError) as caught:
        sniff_media_type(png, "innocent.txt")
    assert caught.value.code == "unsupported_media_type"
    # and a PDF called .txt is still a PDF
    assert sniff_media_type(make_pdf(["x"]), "renamed.txt") == extraction.PDF


def test_binary_garbage_is_unsupported():
    with pytest.raises(ExtractionError) as caught:
        sniff_media_type(bytes(range(256)) * 10, "blob.bin")
    assert caught.value.code == "unsupported_media_type"


def test_empty_file_is_refused():
    with pytest.raises(ExtractionError) as caught:
        sniff_media_type(b"", "empty.txt")
    assert caught.value.code == "empty_file"


def test_corrupt_pdf_fails_with_reason():
    with pytest.raises(ExtractionError) as caught:
        extract(b"%PDF-1.7\n" + b"\x00garbage" * 50, "broken.pdf")
    assert caught.value.code in {"corrupt_file", "no_text"}
    assert caught.value.message


def test_encrypted_pdf_is_refused_with_reason():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(make_pdf(["secret"]))).pages:
        writer.add_page(page)
    writer.encrypt("pw")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ExtractionError) as caught:
        extract(buffer.getvalue(), "locked.pdf")
    assert caught.value.code == "encrypted_file"


def test_zip_bomb_inside_office_file_is_refused_before_inflating():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"0" * (extraction.MAX_UNCOMPRESSED_BYTES + 1))
    with pytest.raises(ExtractionError) as caught:
        sniff_media_type(buffer.getvalue(), "bomb.docx")
    assert caught.value.code == "archive_too_large"


def test_scanned_pdf_without_text_says_so():
    with pytest.raises(ExtractionError) as caught:
        extract(make_pdf([""]), "scan.pdf")
    assert caught.value.code == "no_text"
