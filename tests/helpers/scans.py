"""Scans and photos made here: typed pages drawn with Pillow, saved as images or as image-only PDF pages."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

A4_150_DPI = (1240, 1754)


def page_image(lines: list[str], *, size: tuple[int, int] = A4_150_DPI, font_size: int = 30) -> Image.Image:
    """A white page with `lines` typed on it in black (Pillow's bundled font: no system font needed)."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    y = font_size * 3
    for line in lines:
        draw.text((font_size * 3, y), line, fill=0, font=font)
        y += int(font_size * 1.8)
    return image


def card_image(lines: list[str]) -> Image.Image:
    """An identity card: a light background, a photo box on the left, the fields beside it."""
    image = Image.new("RGB", (1300, 820), (236, 242, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 1260, 780), outline=(40, 60, 120), width=6)
    draw.rectangle((80, 180, 340, 520), fill=(190, 200, 215))  # the photo
    font = ImageFont.load_default(size=34)
    y = 90
    for line in lines:
        draw.text((390 if y > 150 else 80, y), line, fill=(10, 10, 30), font=font)
        y += 72
    return image


def image_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def image_pdf(*pages: Image.Image) -> bytes:
    """A PDF whose pages are only pictures, as a scanner makes them: no text layer at all."""
    first, *rest = pages
    buffer = io.BytesIO()
    first.save(buffer, format="PDF", resolution=150, save_all=True, append_images=rest)
    return buffer.getvalue()


def merge_pdfs(*documents: bytes) -> bytes:
    """The pages of several PDFs, in order, in one file (a typed page followed by a scanned one)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in documents:
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
