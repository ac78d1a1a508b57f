"""Decide what a file is from its bytes, and turn it into text. Pure: no ORM, no models.

The type is decided by content, never by the file name alone: a PNG renamed `.txt` is still refused.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from xml.etree import ElementTree

from charset_normalizer import from_bytes

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
EML = "message/rfc822"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"

SUPPORTED_TYPES = (PDF, DOCX, PPTX, XLSX, CSV, EML, HTML, MARKDOWN, TEXT)
SUPPORTED_DESCRIPTION = (
    "PDF, Word (.docx), PowerPoint (.pptx), Excel (.xlsx), CSV, e-mail (.eml), HTML, Markdown or plain text"
)
# Table rows are grouped into sections of about this many words, so that a chunk names the rows it holds.
ROWS_SECTION_WORDS = 120
# An e-mail may carry e-mails: attachments are extracted recursively up to this depth.
MAX_EMAIL_DEPTH = 3

# Office files are zip archives; refuse to inflate more than this (a zip bomb expands a few KB into GBs).
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200

_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office (OLE) file"),
    (b"ID3", "an audio file"),
    (b"OggS", "an audio file"),
    (b"\x00\x00\x00", "a binary file"),
)
_EMAIL_HEADER = re.compile(rb"^([A-Za-z][A-Za-z0-9-]{0,75})[ \t]*:")


class ExtractionError(Exception):
    """A problem with the file itself. `code` is machine-readable; `message` is a sentence for people and never
    quotes the file's content."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class UnsupportedType(ExtractionError):
    def __init__(self, what: str) -> None:
        super().__init__(
            "unsupported_media_type",
            f"This file looks like {what}; supported types are {SUPPORTED_DESCRIPTION}.",
        )


@dataclass
class Section:
    label: str  # page number or heading: where the text came from, shown with citations
    text: str


@dataclass
class Extracted:
    media_type: str
    sections: list[Section] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(section.text for section in self.sections)


def _check_zip(data: bytes) -> zipfile.ZipFile:
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


_XML_DECLARATIONS = ("<!DOCTYPE", "<!ENTITY")


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


def _decode(data: bytes) -> str | None:
    """Decode text in whatever common encoding it is in; None when it is not text at all."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        return None
    return str(best)


def _looks_like_html(name: str, head: str) -> bool:
    lowered = head.lstrip()[:512].lower()
    return name.lower().endswith((".html", ".htm")) or lowered.startswith(("<!doctype html", "<html"))


def sniff_media_type(data: bytes, filename: str) -> str:
    """The media type of `data`, decided from its content; raises ExtractionError when unsupported."""
    if not data:
        raise ExtractionError("empty_file", "The file is empty.")
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        names = set(_check_zip(data).namelist())
        if "word/document.xml" in names:
            return DOCX
        if "ppt/presentation.xml" in names:
            return PPTX
        if "xl/workbook.xml" in names:
            return XLSX
        raise UnsupportedType("a zip archive or an Office format other than .docx, .pptx or .xlsx")
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise UnsupportedType(what)
    text = _decode(data[:65536])
    if text is None:
        raise UnsupportedType("a binary file")
    if _looks_like_email(data):
        return EML
    if _looks_like_html(filename, text):
        return HTML
    lowered = filename.lower()
    if lowered.endswith((".md", ".markdown")):
        return MARKDOWN
    if lowered.endswith((".csv", ".tsv")) and _looks_like_csv(text):
        return CSV
    return TEXT


def _looks_like_email(data: bytes) -> bool:
    """An RFC 822 header block: the first lines are `Name: value` headers, among them From and one of
    Subject/Date/To."""
    head = data[:16384].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    lines = head.split(b"\n")
    headers = set()
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            continue  # a folded header continues
        match = _EMAIL_HEADER.match(line)
        if not match:
            return False
        headers.add(match.group(1).lower())
    return b"from" in headers and bool(headers & {b"subject", b"date", b"to"}) and len(lines) < 400


def _looks_like_csv(text: str) -> bool:
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        return False
    rows = list(csv.reader(io.StringIO(text[:8192]), dialect))[:20]
    return len(rows) >= 1 and max(len(row) for row in rows) >= 2


def _extract_pdf(data: bytes) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("encrypted_file", "The PDF is encrypted; upload an unprotected copy.")
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            page_text = page.extract_text() or ""
            if page_text.strip():
                sections.append(Section(label=f"page {number}", text=page_text))
        return sections
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise ExtractionError("corrupt_file", "The PDF is damaged and cannot be read.") from exc


def _extract_docx(data: bytes) -> list[Section]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    _check_xml_parts(_check_zip(data))
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


def _extract_pptx(data: bytes) -> list[Section]:
    archive = _check_zip(data)
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


def _rows_to_sections(sheet: str, rows: list[tuple[int, list[str]]]) -> list[Section]:
    """Rows as `header: value` lines, grouped into sections labelled with the sheet and row numbers; the first
    non-empty row is taken as the header."""
    rows = [(number, cells) for number, cells in rows if any(cell.strip() for cell in cells)]
    if not rows:
        return []
    header = [cell.strip() for cell in rows[0][1]]
    use_header = len(rows) > 1 and all(header) and len(set(header)) == len(header)
    body = rows[1:] if use_header else rows
    sections: list[Section] = []
    group: list[str] = []
    first = words = 0
    prefix = f"{sheet}, " if sheet else ""
    for number, cells in body:
        values = [cell.strip() for cell in cells]
        if use_header:
            line = "; ".join(
                f"{header[i] if i < len(header) else f'column {i + 1}'}: {value}"
                for i, value in enumerate(values)
                if value
            )
        else:
            line = " | ".join(values)
        if not group:
            first = number
        group.append(line)
        words += len(line.split())
        if words >= ROWS_SECTION_WORDS:
            sections.append(Section(label=f"{prefix}rows {first}-{number}", text="\n\n".join(group)))
            group, words = [], 0
    if group:
        sections.append(Section(label=f"{prefix}rows {first}-{body[-1][0]}", text="\n\n".join(group)))
    if use_header and not body:
        sections.append(Section(label=f"{prefix}row {rows[0][0]}", text=" | ".join(header)))
    return sections


def _extract_xlsx(data: bytes) -> list[Section]:
    archive = _check_zip(data)
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
        sections.extend(_rows_to_sections(sheet.get("name", ""), rows))
    return sections


def _extract_csv(text: str) -> list[Section]:
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1)]
    except csv.Error as exc:
        raise ExtractionError("corrupt_file", "The CSV file is malformed and cannot be read.") from exc
    return _rows_to_sections("", rows)


def _email_part_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)  # bytes, or None for a multipart
        content = _decode(payload if isinstance(payload, bytes) else b"") or ""
    if isinstance(content, bytes):
        content = _decode(content) or ""
    return content if isinstance(content, str) else ""


def _extract_email(data: bytes, depth: int = 0) -> list[Section]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    subject = str(message.get("Subject", "")).strip()
    header_lines = [f"{name}: {message[name]}" for name in ("From", "To", "Cc", "Date", "Subject") if message[name]]
    sections: list[Section] = []
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if body_part is not None:
        body = _email_part_text(body_part)  # type: ignore[arg-type]  # policy.default parts are EmailMessages
        if body_part.get_content_subtype() == "html":
            body = "\n".join(section.text for section in _extract_html(body))
    sections.append(Section(label=subject, text="\n".join([*header_lines, "", body]).strip()))
    for attachment in message.iter_attachments():
        name = attachment.get_filename() or "attachment"
        payload = attachment.get_payload(decode=True)
        if isinstance(attachment.get_content(), EmailMessage) and depth < MAX_EMAIL_DEPTH:
            payload = attachment.get_content().as_bytes()
        if not isinstance(payload, bytes) or not payload or depth >= MAX_EMAIL_DEPTH:
            continue
        try:
            inner = extract(payload, name, _depth=depth + 1)
        except ExtractionError:
            continue  # an image or an unreadable attachment does not sink the message itself
        label = f"attachment {name[:120]}"
        for section in inner.sections:
            sections.append(Section(label=f"{label}: {section.label}" if section.label else label, text=section.text))
    return sections


def _extract_html(text: str) -> list[Section]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    body = soup.body or soup
    content = body.get_text("\n", strip=True)
    return [Section(label=title, text=content)] if content else []


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def _extract_markdown(text: str) -> list[Section]:
    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    for line in text.splitlines():
        match = _MD_HEADING.match(line)
        if match:
            if any(part.strip() for part in lines):
                sections.append(Section(label=heading, text="\n".join(lines).strip()))
            heading = match.group(2).strip()
            lines = [heading]
            continue
        lines.append(line)
    if any(part.strip() for part in lines):
        sections.append(Section(label=heading, text="\n".join(lines).strip()))
    return sections


def extract(data: bytes, filename: str, *, _depth: int = 0) -> Extracted:
    media_type = sniff_media_type(data, filename)
    if media_type == PDF:
        sections = _extract_pdf(data)
    elif media_type == DOCX:
        sections = _extract_docx(data)
    elif media_type == PPTX:
        sections = _extract_pptx(data)
    elif media_type == XLSX:
        sections = _extract_xlsx(data)
    elif media_type == EML:
        sections = _extract_email(data, _depth)
    else:
        text = _decode(data)
        if text is None:
            raise UnsupportedType("a binary file")
        if media_type == HTML:
            sections = _extract_html(text)
        elif media_type == MARKDOWN:
            sections = _extract_markdown(text)
        elif media_type == CSV:
            sections = _extract_csv(text)
        else:
            sections = [Section(label="", text=text)] if text.strip() else []
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise ExtractionError("no_text", "No text could be extracted from the file (is it a scan without OCR?).")
    return Extracted(media_type=media_type, sections=sections)
