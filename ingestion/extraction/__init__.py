"""Decide what a file is from its bytes, and turn it into text. Pure: no ORM, no models.

The type is decided by content, never by the file name alone: a PNG renamed `.txt` is still read as an image, and
a ZIP renamed `.pdf` is still refused. Scans and photos (and PDF pages without a text layer) are read by OCR.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

from ingestion.extraction.base import (
    CSV,
    DOCX,
    EML,
    HTML,
    IMAGE_TYPES,
    JPEG,
    MARKDOWN,
    PDF,
    PNG,
    PPTX,
    SUPPORTED_DESCRIPTION,
    SUPPORTED_TYPES,
    TEXT,
    TIFF,
    WEBP,
    XLSX,
    Extracted,
    ExtractionError,
    OcrRecord,
    Section,
    UnsupportedType,
)
from ingestion.extraction.ocr import MAX_IMAGE_PIXELS, extract_image, image_media_type, looks_like_image
from ingestion.extraction.office import (
    MAX_COMPRESSION_RATIO,
    MAX_UNCOMPRESSED_BYTES,
    check_zip,
    extract_docx,
    extract_pptx,
    extract_xlsx,
)
from ingestion.extraction.pdf import extract_pdf
from ingestion.extraction.tables import ROWS_SECTION_WORDS
from ingestion.extraction.text import (
    decode,
    extract_csv,
    extract_html,
    extract_markdown,
    looks_like_csv,
    looks_like_html,
)

__all__ = [
    "CSV",
    "DOCX",
    "EML",
    "HTML",
    "IMAGE_TYPES",
    "JPEG",
    "MARKDOWN",
    "MAX_COMPRESSION_RATIO",
    "MAX_EMAIL_DEPTH",
    "MAX_IMAGE_PIXELS",
    "MAX_UNCOMPRESSED_BYTES",
    "PDF",
    "PNG",
    "PPTX",
    "ROWS_SECTION_WORDS",
    "SUPPORTED_DESCRIPTION",
    "SUPPORTED_TYPES",
    "TEXT",
    "TIFF",
    "WEBP",
    "XLSX",
    "Extracted",
    "ExtractionError",
    "OcrRecord",
    "Section",
    "UnsupportedType",
    "extract",
    "sniff_media_type",
]

# An e-mail may carry e-mails: attachments are extracted recursively up to this depth.
MAX_EMAIL_DEPTH = 3

_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
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


def sniff_media_type(data: bytes, filename: str) -> str:
    """The media type of `data`, decided from its content; raises ExtractionError when unsupported."""
    if not data:
        raise ExtractionError("empty_file", "The file is empty.")
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        names = set(check_zip(data).namelist())
        if "word/document.xml" in names:
            return DOCX
        if "ppt/presentation.xml" in names:
            return PPTX
        if "xl/workbook.xml" in names:
            return XLSX
        raise UnsupportedType("a zip archive or an Office format other than .docx, .pptx or .xlsx")
    if looks_like_image(data):
        return image_media_type(data)
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise UnsupportedType(what)
    text = decode(data[:65536])
    if text is None:
        raise UnsupportedType("a binary file")
    if _looks_like_email(data):
        return EML
    if looks_like_html(filename, text):
        return HTML
    lowered = filename.lower()
    if lowered.endswith((".md", ".markdown")):
        return MARKDOWN
    if lowered.endswith((".csv", ".tsv")) and looks_like_csv(text):
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


def _email_part_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)  # bytes, or None for a multipart
        content = decode(payload if isinstance(payload, bytes) else b"") or ""
    if isinstance(content, bytes):
        content = decode(content) or ""
    return content if isinstance(content, str) else ""


def _extract_email(data: bytes, depth: int = 0) -> tuple[list[Section], OcrRecord | None]:
    """Headers and body, then each attachment's sections; OCR'd attachments (scans) are noted by their position
    (never by their name, which may be personal data)."""
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
            body = "\n".join(section.text for section in extract_html(body))
    sections.append(Section(label=subject, text="\n".join([*header_lines, "", body]).strip()))
    ocr: OcrRecord | None = None
    for position, attachment in enumerate(message.iter_attachments(), start=1):
        name = attachment.get_filename() or "attachment"
        payload = attachment.get_payload(decode=True)
        if isinstance(attachment.get_content(), EmailMessage) and depth < MAX_EMAIL_DEPTH:
            payload = attachment.get_content().as_bytes()
        if not isinstance(payload, bytes) or not payload or depth >= MAX_EMAIL_DEPTH:
            continue
        try:
            inner = extract(payload, name, _depth=depth + 1)
        except ExtractionError:
            continue  # an unreadable attachment does not sink the message itself
        if inner.ocr is not None and (inner.ocr.pages or inner.ocr.attachments):
            ocr = ocr or OcrRecord(engine=inner.ocr.engine, version=inner.ocr.version)
            ocr.languages.extend(inner.ocr.languages)
            ocr.seconds += inner.ocr.seconds
            if inner.ocr.pages:
                ocr.attachments[f"attachment {position}"] = inner.ocr.pages
            for where, pages in inner.ocr.attachments.items():  # a scan in a forwarded e-mail
                ocr.attachments[f"attachment {position}, {where}"] = pages
        label = f"attachment {name[:120]}"
        for section in inner.sections:
            sections.append(Section(label=f"{label}: {section.label}" if section.label else label, text=section.text))
    return sections, ocr


def extract(data: bytes, filename: str, *, _depth: int = 0) -> Extracted:
    media_type = sniff_media_type(data, filename)
    ocr: OcrRecord | None = None
    if media_type == PDF:
        sections, ocr = extract_pdf(data)
    elif media_type in IMAGE_TYPES:
        sections, ocr = extract_image(data)
    elif media_type == DOCX:
        sections = extract_docx(data)
    elif media_type == PPTX:
        sections = extract_pptx(data)
    elif media_type == XLSX:
        sections = extract_xlsx(data)
    elif media_type == EML:
        sections, ocr = _extract_email(data, _depth)
    else:
        text = decode(data)
        if text is None:
            raise UnsupportedType("a binary file")
        if media_type == HTML:
            sections = extract_html(text)
        elif media_type == MARKDOWN:
            sections = extract_markdown(text)
        elif media_type == CSV:
            sections = extract_csv(text)
        else:
            sections = [Section(label="", text=text)] if text.strip() else []
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        what = "no text was found on its pages, OCR included" if ocr is not None else "it holds no text"
        raise ExtractionError("no_text", f"No text could be extracted from the file: {what}.")
    return Extracted(media_type=media_type, sections=sections, ocr=ocr)
