from __future__ import annotations

import io
import zipfile

import pytest

from ingestion import extraction
from ingestion.extraction import ExtractionError, extract, sniff_media_type
from tests.helpers.samples import make_docx, make_eml, make_pdf, make_pptx, make_xlsx


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


def test_xlsx_rows_keep_sheet_header_and_row_numbers():
    data = make_xlsx(
        {
            "Allowances": [["Grade", "Daily allowance", "City"], ["E1", 2500, "Pune"], ["E2", 3200, "Mumbai"]],
            "Notes": [["Allowances are revised every April."]],
        }
    )
    result = extract(data, "allowances.xlsx")
    assert result.media_type == extraction.XLSX
    labels = [s.label for s in result.sections]
    assert labels[0] == "Allowances, rows 2-3"
    assert "Grade: E2; Daily allowance: 3200; City: Mumbai" in result.sections[0].text
    assert any(label.startswith("Notes") for label in labels)
    assert "revised every April" in result.text


def test_pptx_slides_are_sections_titled_by_their_title():
    data = make_pptx([("Quarterly review", ["Revenue grew 12 percent."]), ("Risks", ["Supplier delays in Q3."])])
    result = extract(data, "deck.pptx")
    assert result.media_type == extraction.PPTX
    assert [s.label for s in result.sections] == ["slide 1: Quarterly review", "slide 2: Risks"]
    assert "Supplier delays in Q3." in result.sections[1].text


def test_csv_rows_are_labelled_with_their_numbers():
    data = b"employee,leave days,approved\nE-101,12,yes\nE-102,3,no\n"
    assert sniff_media_type(data, "leave.csv") == extraction.CSV
    result = extract(data, "leave.csv")
    assert result.sections[0].label == "rows 2-3"
    assert "employee: E-102; leave days: 3; approved: no" in result.text


def test_email_body_and_text_attachments_are_extracted():
    data = make_eml(
        "Travel approval",
        "Your trip to the Chennai plant is approved.",
        [("itinerary.txt", b"Flight AI-540 departs at 07:10."), ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20)],
    )
    result = extract(data, "message.eml")
    assert result.media_type == extraction.EML
    assert result.sections[0].label == "Travel approval"
    assert "trip to the Chennai plant is approved" in result.sections[0].text
    assert any(s.label == "attachment itinerary.txt" and "AI-540" in s.text for s in result.sections)
    assert "PNG" not in result.text


def test_email_is_recognised_by_content_whatever_its_name():
    assert sniff_media_type(make_eml("Hi", "Body text."), "upload.bin") == extraction.EML


def test_office_file_named_pdf_is_read_as_what_it_is():
    assert sniff_media_type(make_xlsx({"S": [["a", "b"]]}), "report.pdf") == extraction.XLSX


def test_zip_that_is_not_an_office_file_is_unsupported():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ExtractionError) as caught:
        sniff_media_type(buffer.getvalue(), "notes.docx")
    assert caught.value.code == "unsupported_media_type"


def test_zip_bomb_inside_spreadsheet_is_refused_by_ratio():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (20 * 1024 * 1024))  # 20 MB of blanks: ~1000x
    with pytest.raises(ExtractionError) as caught:
        sniff_media_type(buffer.getvalue(), "bomb.xlsx")
    assert caught.value.code == "archive_too_large"


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, content if info.filename == name else source.read(info.filename))
    return buffer.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>"""


@pytest.mark.parametrize(
    ("maker", "part"),
    [
        (lambda: make_xlsx({"S": [["a", "b"]]}), "xl/sharedStrings.xml"),
        (lambda: make_pptx([("T", ["x"])]), "ppt/slides/slide1.xml"),
        (lambda: make_docx("T", ["x"]), "word/document.xml"),
    ],
)
def test_xml_entity_tricks_in_office_files_are_refused(maker, part):
    with pytest.raises(ExtractionError) as caught:
        extract(_with_part(maker(), part, BILLION_LAUGHS), "tricky")
    assert caught.value.code == "unsafe_xml"


def test_external_entity_in_utf16_xml_is_refused_too():
    evil = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    data = _with_part(make_xlsx({"S": [["a", "b"]]}), "xl/sharedStrings.xml", evil.encode("utf-16"))
    with pytest.raises(ExtractionError) as caught:
        extract(data, "tricky.xlsx")
    assert caught.value.code == "unsafe_xml"


def test_encrypted_zip_member_is_refused_with_reason():
    data = bytearray(make_xlsx({"S": [["a", "b"]]}))
    # Set the "encrypted" flag on every entry, as a password-protected zip has it.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + offset] |= 0x1
            start += 4
    with pytest.raises(ExtractionError) as caught:
        extract(bytes(data), "locked.xlsx")
    assert caught.value.code == "encrypted_file"


def test_truncated_office_file_is_corrupt_not_a_crash():
    data = make_pptx([("Title", ["Body"])])
    with pytest.raises(ExtractionError) as caught:
        extract(data[: len(data) // 2], "cut.pptx")
    assert caught.value.code in {"corrupt_file", "unsupported_media_type"}


def test_spreadsheet_without_any_text_says_so():
    with pytest.raises(ExtractionError) as caught:
        extract(make_xlsx({"Empty": []}), "empty.xlsx")
    assert caught.value.code == "no_text"


def test_non_utf8_bytes_in_any_encoding_never_crash():
    for data in ("Grüße aus Köln".encode("cp1252"), "Привет, мир".encode("koi8-r"), b"caf\xe9 \xff\xfe ok"):
        assert extract(data, "x.txt").text.strip()
