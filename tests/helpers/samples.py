"""Test data made here: personal data of made-up people, valid-looking Indian identifiers, generated files."""

from __future__ import annotations

import io
import random

# Verhoeff tables: Aadhaar's last digit is a Verhoeff check digit.
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def verhoeff_check_digit(number: str) -> int:
    c = 0
    for i, digit in enumerate(reversed(number)):
        c = _D[c][_P[(i + 1) % 8][int(digit)]]
    return _INV[c]


def verhoeff_valid(number: str) -> bool:
    c = 0
    for i, digit in enumerate(reversed(number)):
        c = _D[c][_P[i % 8][int(digit)]]
    return c == 0


def aadhaar(rng: random.Random, *, valid: bool = True, spaced: bool = True) -> str:
    """A 12-digit number in Aadhaar's shape: first digit 2-9, last digit the Verhoeff check (or not, when
    `valid` is False)."""
    while True:
        body = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(10))
        check = verhoeff_check_digit(body)
        digit = check if valid else (check + rng.randint(1, 9)) % 10
        number = body + str(digit)
        if number != number[::-1]:
            break
    return f"{number[:4]} {number[4:8]} {number[8:]}" if spaced else number


def pan(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return (
        "".join(rng.choice(letters) for _ in range(3))
        + rng.choice("PCHFATBLJG")  # the 4th letter says what kind of holder; P is a person
        + rng.choice(letters)
        + f"{rng.randint(0, 9999):04d}"
        + rng.choice(letters)
    )


def make_pdf(pages: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for page in pages:
        y = 800
        for line in page.splitlines():
            pdf.drawString(50, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_docx(heading: str, paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _zip(parts: dict[str, str]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _escape(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


def make_xlsx(sheets: dict[str, list[list[str | int | float]]]) -> bytes:
    """A minimal SpreadsheetML workbook: text in the shared-string table, numbers inline, as Excel writes them."""
    shared: list[str] = []
    sheet_parts: dict[str, str] = {}
    rels, entries = [], []
    for n, (name, rows) in enumerate(sheets.items(), start=1):
        xml_rows = []
        for r, row in enumerate(rows, start=1):
            cells = []
            for c, value in enumerate(row):
                ref = f"{chr(65 + c)}{r}"
                if isinstance(value, str):
                    shared.append(value)
                    cells.append(f'<c r="{ref}" t="s"><v>{len(shared) - 1}</v></c>')
                else:
                    cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
        sheet_parts[f"xl/worksheets/sheet{n}.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{''.join(xml_rows)}</sheetData></worksheet>"
        )
        rels.append(f'<Relationship Id="rId{n}" Type="{_OFFICE_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>')
        entries.append(f'<sheet name="{_escape(name)}" sheetId="{n}" r:id="rId{n}"/>')
    strings = "".join(f"<si><t>{_escape(s)}</t></si>" for s in shared)
    return _zip(
        {
            "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{_CT}"></Types>',
            "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{_REL}">'
            f'<Relationship Id="rId1" Type="{_OFFICE_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main" xmlns:r="{_OFFICE_REL}"><sheets>{"".join(entries)}</sheets></workbook>',
            "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{_REL}">{"".join(rels)}'
            "</Relationships>",
            "xl/sharedStrings.xml": '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main" count="{len(shared)}">{strings}</sst>',
            **sheet_parts,
        }
    )


def make_pptx(slides: list[tuple[str, list[str]]]) -> bytes:
    """A minimal PresentationML deck: each slide a title placeholder and a body text box."""
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    p = "http://schemas.openxmlformats.org/presentationml/2006/main"
    parts: dict[str, str] = {}
    rels, ids = [], []
    for n, (title, lines) in enumerate(slides, start=1):
        body = "".join(f"<a:p><a:r><a:t>{_escape(line)}</a:t></a:r></a:p>" for line in lines)
        parts[f"ppt/slides/slide{n}.xml"] = (
            f'<?xml version="1.0"?><p:sld xmlns:a="{a}" xmlns:p="{p}"><p:cSld><p:spTree>'
            '<p:sp><p:nvSpPr><p:cNvPr id="2" name="Title"/><p:cNvSpPr/><p:nvPr><p:ph type="title"/></p:nvPr>'
            f"</p:nvSpPr><p:txBody><a:p><a:r><a:t>{_escape(title)}</a:t></a:r></a:p></p:txBody></p:sp>"
            '<p:sp><p:nvSpPr><p:cNvPr id="3" name="Body"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
            f"<p:txBody>{body}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
        )
        rels.append(f'<Relationship Id="rId{n + 1}" Type="{_OFFICE_REL}/slide" Target="slides/slide{n}.xml"/>')
        ids.append(f'<p:sldId id="{255 + n}" r:id="rId{n + 1}"/>')
    return _zip(
        {
            "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{_CT}"></Types>',
            "ppt/presentation.xml": f'<?xml version="1.0"?><p:presentation xmlns:p="{p}" xmlns:r="{_OFFICE_REL}">'
            f"<p:sldIdLst>{''.join(ids)}</p:sldIdLst></p:presentation>",
            "ppt/_rels/presentation.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{_REL}">'
            f"{''.join(rels)}</Relationships>",
            **parts,
        }
    )


def make_eml(subject: str, body: str, attachments: list[tuple[str, bytes]] = ()) -> bytes:  # type: ignore[assignment]
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Asha Rao <asha.rao@example.org>"
    message["To"] = "hr@example.org"
    message["Subject"] = subject
    message["Date"] = "Mon, 2 Mar 2026 10:00:00 +0530"
    message.set_content(body)
    for name, data in attachments:
        maintype, subtype = ("text", "plain") if name.endswith(".txt") else ("application", "octet-stream")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(message)
