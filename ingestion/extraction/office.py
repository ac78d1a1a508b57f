"""Office files (zip archives of XML): Word, PowerPoint, Excel, each checked for zip bombs and XML tricks first."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any
from xml.etree import ElementTree

from lxml import etree
from pptx.enum.shapes import MSO_SHAPE_TYPE

from ingestion.extraction.base import ExtractionError, Section
from ingestion.extraction.numfmt import cell_text
from ingestion.extraction.tables import rows_to_sections

# Office files are zip archives; refuse to inflate more than this (a zip bomb expands a few KB into GBs).
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
_XML_DECLARATIONS = ("<!DOCTYPE", "<!ENTITY")


def check_zip(data: bytes) -> zipfile.ZipFile:
    """Open an Office archive after checking, from its directory alone, how big it would be once inflated.
    zipfile never returns more than a member's declared size, so checking the declared sizes bounds the reads."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ExtractionError("corrupt_file", "The file is a damaged zip/Office archive and cannot be read.") from exc
    if any(info.flag_bits & 0x1 for info in infos):
        raise ExtractionError("encrypted_file", "The Office file is encrypted; upload an unprotected copy.")
    total = sum(info.file_size for info in infos)
    packed = max(1, sum(info.compress_size for info in infos))
    if total > MAX_UNCOMPRESSED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
        raise ExtractionError(
            "archive_too_large", "The Office file would expand to an unsafe size when unpacked (a zip bomb?)."
        )
    return archive


def _read_xml_part(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member of an Office archive, refused when it declares a DTD or entities (billion laughs, external
    entities): Office files never need one."""
    try:
        with archive.open(name) as member:
            raw = member.read(MAX_UNCOMPRESSED_BYTES + 1)
    except KeyError as exc:
        raise ExtractionError("corrupt_file", "The Office file is missing a part it needs.") from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ExtractionError("corrupt_file", "The Office file is damaged and cannot be read.") from exc
    text = raw.decode("utf-16", errors="ignore") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else None
    if any(marker.encode() in raw for marker in _XML_DECLARATIONS) or (
        text is not None and any(marker in text for marker in _XML_DECLARATIONS)
    ):
        raise ExtractionError("unsafe_xml", "The Office file declares XML entities or a DTD, which is refused.")
    return raw


def _check_xml_parts(archive: zipfile.ZipFile) -> None:
    for name in archive.namelist():
        if name.endswith((".xml", ".rels")):
            _read_xml_part(archive, name)


def _parse_xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(_read_xml_part(archive, name))  # noqa: S314 - DTDs refused before parsing
    except ElementTree.ParseError as exc:
        raise ExtractionError("corrupt_file", "The Office file contains damaged XML.") from exc


def extract_docx(data: bytes) -> list[Section]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _check_xml_parts(check_zip(data))
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ExtractionError("corrupt_file", "The Word document is damaged and cannot be read.") from exc
    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.lower().startswith(("heading", "title")):
            if lines:
                sections.append(Section(label=heading, text="\n".join(lines)))
                lines = []
            heading = text
        lines.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            if any(cells):
                lines.append(" | ".join(cells))
    if lines:
        sections.append(Section(label=heading, text="\n".join(lines)))
    return sections


_NS = {
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "p": "http://schemas.openxmlformats.org/presentationml/2006/main",
    "s": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}


def _q(prefix: str, tag: str) -> str:
    """An element name qualified with its namespace, as ElementTree spells it."""
    return f"{{{_NS[prefix]}}}{tag}"


_R_ID = _q("r", "id")


def _relationships(archive: zipfile.ZipFile, rels_name: str, base: str) -> dict[str, str]:
    """Relationship id -> archive member name, for a part's `_rels` file."""
    targets = {}
    for rel in _parse_xml(archive, rels_name).findall("rel:Relationship", _NS):
        target = rel.get("Target", "")
        name = target.lstrip("/") if target.startswith("/") else f"{base}/{target}"
        parts: list[str] = []
        for piece in name.split("/"):  # resolve "../" without touching the file system
            if piece == "..":
                if parts:
                    parts.pop()
            elif piece and piece != ".":
                parts.append(piece)
        targets[rel.get("Id", "")] = "/".join(parts)
    return targets


def _pptx_plain(archive: zipfile.ZipFile) -> list[Section]:
    """Slide text read from the XML itself, for a package python-pptx refuses (no content types or package
    relationships, as minimal generators write)."""
    presentation = _parse_xml(archive, "ppt/presentation.xml")
    targets = _relationships(archive, "ppt/_rels/presentation.xml.rels", "ppt")
    sections: list[Section] = []
    slide_ids = presentation.findall("p:sldIdLst/p:sldId", _NS)
    for number, slide_id in enumerate(slide_ids, start=1):
        name = targets.get(slide_id.get(_R_ID, ""), "")
        if name not in archive.namelist():
            continue
        title = ""
        paragraphs: list[str] = []
        for shape in _parse_xml(archive, name).iter(_q("p", "sp")):
            placeholder = shape.find("p:nvSpPr/p:nvPr/p:ph", _NS)
            is_title = placeholder is not None and placeholder.get("type") in ("title", "ctrTitle")
            for paragraph in shape.iter(_q("a", "p")):
                line = "".join(t.text or "" for t in paragraph.iter(_q("a", "t"))).strip()
                if line:
                    paragraphs.append(line)
                    if is_title and not title:
                        title = line
        if paragraphs:
            label = f"slide {number}: {title}" if title else f"slide {number}"
            sections.append(Section(label=label, text="\n".join(paragraphs)))
    return sections


def _column_index(reference: str) -> int:
    index = 0
    for ch in reference:
        if not ch.isalpha():
            break
        index = index * 26 + (ord(ch.upper()) - 64)
    return index - 1


def _xlsx_plain(archive: zipfile.ZipFile) -> list[Section]:
    """Raw cell values read from the XML itself, for a package openpyxl refuses (no content types or package
    relationships, as minimal generators write)."""
    names = set(archive.namelist())
    shared: list[str] = []
    if "xl/sharedStrings.xml" in names:
        for item in _parse_xml(archive, "xl/sharedStrings.xml").findall("s:si", _NS):
            shared.append("".join(t.text or "" for t in item.iter(_q("s", "t"))))
    workbook = _parse_xml(archive, "xl/workbook.xml")
    targets = _relationships(archive, "xl/_rels/workbook.xml.rels", "xl")
    sections: list[Section] = []
    for sheet in workbook.findall("s:sheets/s:sheet", _NS):
        part = targets.get(sheet.get(_R_ID, ""), "")
        if part not in names:
            continue
        rows: list[tuple[int, list[str]]] = []
        for row_number, row in enumerate(_parse_xml(archive, part).iter(_q("s", "row")), start=1):
            cells: dict[int, str] = {}
            for position, cell in enumerate(row.findall("s:c", _NS)):
                kind = cell.get("t", "n")
                value = cell.find("s:v", _NS)
                if kind == "inlineStr":
                    text = "".join(t.text or "" for t in cell.iter(_q("s", "t")))
                elif value is None or value.text is None:
                    continue
                elif kind == "s":
                    try:
                        text = shared[int(value.text)]
                    except (ValueError, IndexError) as exc:
                        raise ExtractionError("corrupt_file", "The spreadsheet refers to a missing string.") from exc
                elif kind == "b":
                    text = "TRUE" if value.text == "1" else "FALSE"
                else:
                    text = value.text
                reference = cell.get("r", "")
                cells[_column_index(reference) if reference else position] = text
            if cells:
                width = max(cells) + 1
                if width > 16384:
                    raise ExtractionError("corrupt_file", "The spreadsheet has an impossible column.")
                number = int(row.get("r", row_number)) if str(row.get("r", "")).isdigit() else row_number
                rows.append((number, [cells.get(i, "") for i in range(width)]))
        sections.extend(rows_to_sections(sheet.get("name", ""), rows))
    return sections


# What python-pptx and openpyxl raise on a package that is not a complete Office package.
_NOT_A_PACKAGE = (KeyError, OSError, ValueError, zipfile.BadZipFile)


def _pptx_shape_lines(shape: Any) -> list[str]:  # noqa: ANN401 - python-pptx shapes are untyped
    """A shape's text as people read it: paragraphs, a table row by row (header: value when it has a header
    row), group shapes in reading order."""
    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        return [line for inner in _reading_order(shape.shapes) for line in _pptx_shape_lines(inner)]
    lines: list[str] = []
    if shape.has_text_frame:
        lines.extend(p.text.strip() for p in shape.text_frame.paragraphs if p.text.strip())
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [[cell.text.strip() for cell in row.cells] for row in shape.table.rows]
        header = rows[0] if rows and shape.table.first_row and all(rows[0]) else None
        for row in rows[1:] if header else rows:
            if header:
                lines.append("; ".join(f"{name}: {value}" for name, value in zip(header, row, strict=False) if value))
            elif any(row):
                lines.append(" | ".join(row))
    return lines


def _reading_order(shapes: Any) -> list[Any]:  # noqa: ANN401
    """Top to bottom, then left to right: the order on the slide, not the order the shapes were drawn."""
    return sorted(shapes, key=lambda shape: (shape.top or 0, shape.left or 0))


def extract_pptx(data: bytes) -> list[Section]:
    """A section per slide, titled by the slide title: its text, tables and speaker notes."""
    import pptx
    from pptx.exc import PackageNotFoundError

    archive = check_zip(data)
    _check_xml_parts(archive)
    try:
        presentation = pptx.Presentation(io.BytesIO(data))
    except (PackageNotFoundError, *_NOT_A_PACKAGE):
        return _pptx_plain(archive)
    sections: list[Section] = []
    try:
        for number, slide in enumerate(presentation.slides, start=1):
            title_shape = slide.shapes.title
            title = title_shape.text_frame.text.strip() if title_shape is not None else ""
            lines = [line for shape in _reading_order(slide.shapes) for line in _pptx_shape_lines(shape)]
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                notes = slide.notes_slide.notes_text_frame.text.strip()
                if notes:
                    lines.append(f"Speaker notes: {notes}")
            if lines:
                label = f"slide {number}: {title.splitlines()[0]}" if title else f"slide {number}"
                sections.append(Section(label=label, text="\n".join(lines)))
    except (*_NOT_A_PACKAGE, AttributeError, etree.XMLSyntaxError) as exc:
        raise ExtractionError("corrupt_file", "The PowerPoint file is damaged and cannot be read.") from exc
    return sections


# openpyxl holds a whole sheet in memory; past this many inflated bytes of sheet XML it reads streaming
# (read-only mode), which knows no merged cells.
MAX_FULL_XLSX_BYTES = 40 * 1024 * 1024
MAX_MERGED_CELLS = 10_000
MAX_MERGED_AREA = 1_000_000
_MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Za-z]{1,3})(\d{1,7})(?::([A-Za-z]{1,3})(\d{1,7}))?\"")


def _merged_area(sheet_xml: bytes) -> int:
    """How many cells the merges of a sheet cover, from its XML (before openpyxl sees it)."""
    area = 0
    for match in _MERGE_REF.finditer(sheet_xml):
        first_col, first_row, last_col, last_row = match.groups()
        rows = abs(int(last_row or first_row) - int(first_row)) + 1
        columns = abs(_column_index((last_col or first_col).decode()) - _column_index(first_col.decode())) + 1
        area += rows * columns
    return area


def _sheet_rows(sheet: Any) -> list[tuple[int, list[str]]]:  # noqa: ANN401 - openpyxl worksheets
    """Each row's cells as displayed; a merged cell's value fills the cells it covers, except in a title row (a
    row of one value spanning the table), which stays a single cell."""
    grid: dict[int, dict[int, str]] = {}
    if hasattr(sheet, "reset_dimensions"):
        # Read-only mode pads every row to the declared dimension (the file's to choose: up to 16,384 columns).
        sheet.reset_dimensions()
        cells = (cell for row in sheet.iter_rows() for cell in row)
    else:
        # The cells that exist: iter_rows() would create every cell of the rectangle up to the farthest one.
        cells = iter(sheet._cells.values())
    for cell in cells:
        text = cell_text(cell.value, cell.number_format) if cell.value is not None else ""
        if text:
            grid.setdefault(cell.row, {})[cell.column] = text
    last_row = max(grid, default=0)
    last_column = max((max(columns) for columns in grid.values()), default=0)
    for merged in getattr(sheet, "merged_cells", None) or []:
        value = grid.get(merged.min_row, {}).get(merged.min_col, "")
        if not value:
            continue
        title_row = merged.min_row == merged.max_row and len(grid.get(merged.min_row, {})) == 1
        # Filled only where the sheet has values, and only a layout-sized merge: the file chooses its ranges.
        rows = range(merged.min_row, min(merged.max_row, last_row) + 1)
        columns = range(merged.min_col, (merged.min_col if title_row else min(merged.max_col, last_column)) + 1)
        if len(rows) * len(columns) > MAX_MERGED_CELLS:
            continue
        for row_number in rows:
            for column in columns:
                grid.setdefault(row_number, {})[column] = value
    table = []
    for number in sorted(grid):
        row_cells = grid[number]
        width = max(row_cells)
        if width > 16384:
            raise ExtractionError("corrupt_file", "The spreadsheet has an impossible column.")
        table.append((number, [row_cells.get(column, "") for column in range(1, width + 1)]))
    return table


def extract_xlsx(data: bytes) -> list[Section]:
    """Every sheet, its cells as the sheet shows them (dates, currency, percentages formatted by their number
    format), merged cells filled, rows as `header: value` lines under the header row; titles above the header
    name the sheet's sections."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    archive = check_zip(data)
    _check_xml_parts(archive)
    sheets = [i.filename for i in archive.infolist() if i.filename.startswith("xl/worksheets/")]
    sheet_bytes = sum(archive.getinfo(name).file_size for name in sheets)
    # openpyxl creates an object for every cell a merge covers: one <mergeCell ref="A1:XFD1048576"/> in a few
    # bytes would be 17 billion. Such a workbook is read streaming, without its merges.
    merged_area = sum(_merged_area(_read_xml_part(archive, name)) for name in sheets)
    streaming = sheet_bytes > MAX_FULL_XLSX_BYTES or merged_area > MAX_MERGED_AREA
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=streaming, keep_links=False)
    except (InvalidFileException, *_NOT_A_PACKAGE):
        return _xlsx_plain(archive)
    sections: list[Section] = []
    try:
        for sheet in workbook.worksheets:
            rows = _sheet_rows(sheet)
            titles: list[str] = []
            widths = [sum(bool(cell) for cell in cells) for _number, cells in rows]
            # Single values above a table are its titles; a sheet that is a single column is just its rows.
            while len(rows) > 1 and widths[0] == 1 and max(widths) > 1:
                widths.pop(0)
                titles.append(next(cell for cell in rows.pop(0)[1] if cell))
            name = " — ".join([sheet.title, *titles]) if titles else sheet.title
            sections.extend(rows_to_sections(name, rows))
    except (*_NOT_A_PACKAGE, AttributeError, TypeError, etree.XMLSyntaxError) as exc:
        raise ExtractionError("corrupt_file", "The spreadsheet is damaged and cannot be read.") from exc
    finally:
        workbook.close()
    return sections
