"""What every extractor returns and raises, and the media types it knows. Pure: no ORM, no models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
EML = "message/rfc822"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
WEBP = "image/webp"
IMAGE_TYPES = (PNG, JPEG, TIFF, WEBP)

SUPPORTED_TYPES = (PDF, DOCX, PPTX, XLSX, CSV, EML, HTML, MARKDOWN, TEXT, *IMAGE_TYPES)
SUPPORTED_DESCRIPTION = (
    "PDF, Word (.docx), PowerPoint (.pptx), Excel (.xlsx), CSV, e-mail (.eml), HTML, Markdown, plain text "
    "or a scan or photo (PNG, JPEG, TIFF, WebP)"
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
class OcrRecord:
    """Which pages were read by OCR, and with what: kept in the document's manifest (never the text)."""

    engine: str
    version: str
    languages: list[str] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    rotated: dict[int, int] = field(default_factory=dict)  # page -> degrees turned clockwise before reading
    attachments: dict[str, list[int]] = field(default_factory=dict)  # "attachment 2" -> its pages OCR'd (e-mail)
    seconds: float = 0.0

    def as_manifest(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "version": self.version,
            "languages": sorted(set(self.languages)),
            "pages": self.pages,
            "rotated": {str(page): degrees for page, degrees in self.rotated.items()},
            **({"attachments": self.attachments} if self.attachments else {}),
            "seconds": round(self.seconds, 2),
        }


@dataclass
class Extracted:
    media_type: str
    sections: list[Section] = field(default_factory=list)
    ocr: OcrRecord | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(section.text for section in self.sections)

    @property
    def manifest(self) -> dict[str, Any]:
        """What extraction adds to the document's manifest: `{"ocr": {...}}` when any page was OCR'd."""
        ocr = self.ocr
        return {"ocr": ocr.as_manifest()} if ocr is not None and (ocr.pages or ocr.attachments) else {}
