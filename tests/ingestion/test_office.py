"""Spreadsheets and slides read as people read them, from files made here by openpyxl and python-pptx."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from ingestion import extraction
from ingestion.extraction import extract
from ingestion.extraction.numfmt import cell_text
from ingestion.models import Chunk, Document
from tests.conftest import ingest

RUPEES = "[$₹-4009] #,##,##0.00"


def _workbook() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    claims = book.active
    claims.title = "Claims"
    claims.append(["Travel claims FY 2026-27"])
    claims.merge_cells("A1:E1")
    claims.append(["Employee", "Claim date", "Amount", "Reimbursed", "Region"])
    claims.append(["Kavita Deshpande", dt.date(2026, 3, 14), 125000, 0.8, "West"])
    claims.append(["Rohan Mehta", dt.date(2026, 4, 2), 8450.5, 0.125, None])
    claims.merge_cells("E3:E4")  # both claims are from the West region
    for row in (3, 4):
        claims.cell(row, 2).number_format = "dd-mmm-yyyy"
        claims.cell(row, 3).number_format = RUPEES
        claims.cell(row, 4).number_format = "0.0%"
    rates = book.create_sheet("Rates")
    rates.append(["Grade", "Daily allowance", "Effective from", "Revision"])
    rates.append(["E1", 2500, dt.datetime(2026, 4, 1, 9, 30), 0.05])
    rates["B2"].number_format = '"$"#,##0.00'
    rates["C2"].number_format = "mmm d, yyyy h:mm AM/PM"
    rates["D2"].number_format = "0%"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_cells_read_as_the_sheet_shows_them_not_as_serial_numbers():
    result = extract(_workbook(), "claims.xlsx")
    assert result.media_type == extraction.XLSX
    claims, rates = result.sections
    assert claims.label == "Claims — Travel claims FY 2026-27, rows 3-4"  # the merged title names the table
    assert claims.text.splitlines()[0] == (
        "Employee: Kavita Deshpande; Claim date: 14-Mar-2026; Amount: ₹ 1,25,000.00; Reimbursed: 80.0%; Region: West"
    )
    assert "Claim date: 02-Apr-2026; Amount: ₹ 8,450.50; Reimbursed: 12.5%; Region: West" in claims.text
    assert rates.label == "Rates, rows 2-2"
    assert rates.text == "Grade: E1; Daily allowance: $2,500.00; Effective from: Apr 1, 2026 9:30 AM; Revision: 5%"
    assert "46095" not in result.text and "0.125" not in result.text  # no serial dates, no raw fractions


def test_spreadsheet_through_the_pipeline_keeps_formatted_values_and_redacts_names(alice):
    document = ingest(alice, "claims.xlsx", _workbook())
    assert document.status == Document.Status.INDEXED, document.error_message
    text = " ".join(Chunk.objects.filter(document=document).values_list("text", flat=True))
    assert "₹ 1,25,000.00" in text and "14-Mar-2026" in text and "80.0%" in text
    assert "Kavita" not in text and "Deshpande" not in text and "Mehta" not in text


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (1234567.891, "#,##0.00", "1,234,567.89"),
        (12345678, "#,##,##0", "1,23,45,678"),
        (45000, '"₹"#,##0', "₹45,000"),
        (-1500, "#,##0;(#,##0)", "(1,500)"),
        (0, '#,##0;-#,##0;"-"', "-"),
        (0.1256, "0.00%", "12.56%"),
        (1234.5, "_($* #,##0.00_)", "$1,234.50"),
        (12345678, "[$€-407] #,##0.00", "€ 12,345,678.00"),
        (5, '0 "days"', "5 days"),
        (0.5, "#.##", ".5"),
        (3.25, "General", "3.25"),
        (dt.datetime(2026, 3, 14, 15, 5), "d-mmm-yy h:mm AM/PM", "14-Mar-26 3:05 PM"),
        (dt.datetime(2026, 3, 14), "dddd, mmmm d, yyyy", "Saturday, March 14, 2026"),
        (dt.date(2026, 3, 14), "General", "2026-03-14"),
        (dt.time(9, 30), "hh:mm", "09:30"),
        (True, "General", "TRUE"),
    ],
)
def test_number_formats(value, number_format, shown):
    assert cell_text(value, number_format) == shown


def _deck() -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    first.shapes.title.text = "Quarterly review"
    first.placeholders[1].text_frame.text = "Revenue grew 12 percent."
    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    second.shapes.title.text = "Revenue by region"
    table = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate([("Region", "Revenue"), ("West", "₹ 4.2 crore"), ("South", "₹ 3.1 crore")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    box = second.shapes.add_textbox(Inches(1), Inches(5), Inches(6), Inches(1))
    box.text_frame.text = "Figures are unaudited."
    second.notes_slide.notes_text_frame.text = "Remind the board that the South figure excludes Chennai."
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def test_slides_keep_titles_tables_and_speaker_notes():
    result = extract(_deck(), "review.pptx")
    assert result.media_type == extraction.PPTX
    assert [s.label for s in result.sections] == ["slide 1: Quarterly review", "slide 2: Revenue by region"]
    assert result.sections[0].text == "Quarterly review\nRevenue grew 12 percent."
    assert result.sections[1].text.splitlines() == [
        "Revenue by region",
        "Region: West; Revenue: ₹ 4.2 crore",
        "Region: South; Revenue: ₹ 3.1 crore",
        "Figures are unaudited.",
        "Speaker notes: Remind the board that the South figure excludes Chennai.",
    ]


def _with_sheet_xml(data: bytes, edit) -> bytes:
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            target.writestr(item, edit(content) if item.filename == "xl/worksheets/sheet1.xml" else content)
    return buffer.getvalue()


def test_a_merge_over_the_whole_sheet_is_not_a_memory_bomb():
    """openpyxl makes an object per merged cell: A1:XFD1048576 would be 17 billion. Such a sheet is read
    streaming, without its merges, in about the time of any other."""
    import time
    import zipfile

    bomb = _with_sheet_xml(_workbook(), lambda xml: xml.replace(b'ref="E3:E4"', b'ref="E3:XFD1048576"'))
    assert b"XFD1048576" in zipfile.ZipFile(io.BytesIO(bomb)).read("xl/worksheets/sheet1.xml")
    started = time.perf_counter()
    result = extract(bomb, "bomb.xlsx")
    assert time.perf_counter() - started < 30
    assert "Kavita Deshpande" in result.text
