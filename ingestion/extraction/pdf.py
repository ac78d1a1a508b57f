"""PDF: the text layer page by page (pypdf); a page without one is rendered (PDFium) and OCR'd."""

from __future__ import annotations

import io
import math

from ingestion.extraction.base import ExtractionError, OcrRecord, Section
from ingestion.extraction.ocr import MAX_OCR_PAGES, OCR_MAX_PIXELS, new_record, ocr_page

# A page whose text layer has fewer characters than this is treated as a scan (a scanner often adds a page
# number or "Scanned by …" on top of the image); the OCR text replaces the layer when it holds more.
MIN_TEXT_LAYER_CHARS = 32
OCR_DPI = 300


def _text_layers(data: bytes) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("encrypted_file", "The PDF is encrypted; upload an unprotected copy.")
        return [page.extract_text() or "" for page in reader.pages]
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise ExtractionError("corrupt_file", "The PDF is damaged and cannot be read.") from exc


def _visible_chars(text: str) -> int:
    return sum(not ch.isspace() for ch in text)


def _ocr_pages(data: bytes, numbers: list[int]) -> tuple[dict[int, str], OcrRecord]:
    import pypdfium2 as pdfium

    if len(numbers) > MAX_OCR_PAGES:
        raise ExtractionError("too_many_pages", f"The PDF has more than {MAX_OCR_PAGES} scanned pages to OCR.")
    record = new_record()
    texts: dict[int, str] = {}
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ExtractionError("corrupt_file", "The PDF is damaged and cannot be rendered for OCR.") from exc
    try:
        for number in numbers:
            page = document[number - 1]
            width, height = page.get_size()  # points: 1/72 inch
            # A page's declared size is the file's to choose: cap the rendered pixels (a bomb in disguise).
            scale = min(OCR_DPI / 72, math.sqrt(OCR_MAX_PIXELS / max(1.0, width * height)))
            image = page.render(scale=scale, grayscale=True).to_pil()
            page.close()
            texts[number] = ocr_page(image, number, record)
    except pdfium.PdfiumError as exc:
        raise ExtractionError("corrupt_file", "A page of the PDF is damaged and cannot be rendered for OCR.") from exc
    finally:
        document.close()
    return texts, record


def extract_pdf(data: bytes) -> tuple[list[Section], OcrRecord | None]:
    layers = _text_layers(data)
    scanned = [number for number, text in enumerate(layers, start=1) if _visible_chars(text) < MIN_TEXT_LAYER_CHARS]
    ocr_texts, record = _ocr_pages(data, scanned) if scanned else ({}, None)
    sections = []
    for number, layer in enumerate(layers, start=1):
        text = ocr_texts.get(number, "")
        use_ocr = _visible_chars(text) > _visible_chars(layer)
        if use_ocr and record is not None:
            record.pages.append(number)
        page_text = text if use_ocr else layer
        if page_text.strip():
            sections.append(Section(label=f"page {number}", text=page_text))
    return sections, record
