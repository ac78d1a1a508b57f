"""Decide what a file is from its bytes, and turn it into text. Pure: no ORM, no models.

The type is decided by content, never by the file name alone: a PNG renamed `.txt` is still refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"

SUPPORTED_TYPES = (PDF, DOCX, HTML, MARKDOWN, TEXT)
SUPPORTED_DESCRIPTION = "PDF, Word (.docx), HTML, Markdown or plain text"

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
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ExtractionError("corrupt_file", "The file is a damaged zip/Office archive and cannot be read.") from exc
    total = sum(info.file_size for info in archive.infolist())
    packed = max(1, sum(info.compress_size for info in archive.infolist()))
    if total > MAX_UNCOMPRESSED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
        raise ExtractionError(
            "archive_too_large", "The Office file would expand to an unsafe size when unpacked (a zip bomb?)."
        )
    return archive


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
        archive = _check_zip(data)
        if "word/document.xml" in archive.namelist():
            return DOCX
        raise UnsupportedType("a zip archive or an Office format other than Word (.docx)")
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise UnsupportedType(what)
    text = _decode(data[:65536])
    if text is None:
        raise UnsupportedType("a binary file")
    if _looks_like_html(filename, text):
        return HTML
    if filename.lower().endswith((".md", ".markdown")):
        return MARKDOWN
    return TEXT


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

    _check_zip(data)
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


def extract(data: bytes, filename: str) -> Extracted:
    media_type = sniff_media_type(data, filename)
    if media_type == PDF:
        sections = _extract_pdf(data)
    elif media_type == DOCX:
        sections = _extract_docx(data)
    else:
        text = _decode(data)
        if text is None:
            raise UnsupportedType("a binary file")
        if media_type == HTML:
            sections = _extract_html(text)
        elif media_type == MARKDOWN:
            sections = _extract_markdown(text)
        else:
            sections = [Section(label="", text=text)] if text.strip() else []
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise ExtractionError("no_text", "No text could be extracted from the file (is it a scan without OCR?).")
    return Extracted(media_type=media_type, sections=sections)
