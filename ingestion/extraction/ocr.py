"""Reading scans and photos: Tesseract 5 (Debian's `tesseract-ocr`, `eng` + `hin`) run as a subprocess.

The image goes to Tesseract through a pipe and the text comes back the same way: a scan is full of personal data,
and no copy of it is written outside the quarantine (pytesseract would write temporary files)."""

from __future__ import annotations

import functools
import io
import math
import os
import re
import shutil
import struct
import subprocess
import time
import warnings
from collections.abc import Iterator

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from cleanroom.pii.names import GIVEN_NAMES, SURNAMES, first_names, surname_ranks
from ingestion.extraction.base import JPEG, PNG, TIFF, WEBP, ExtractionError, OcrRecord, Section, UnsupportedType

# A decompression bomb is a small file that decodes to billions of pixels. A phone photo is 12-50 MP and an A4
# scan at 600 dpi 35 MP; anything larger is refused from its header, before a pixel is decoded.
MAX_IMAGE_PIXELS = 64_000_000
# Tesseract reads best at about 300 dpi; larger pages only cost time (A4 at 300 dpi is 8.7 MP).
OCR_MAX_PIXELS = 9_000_000
# About 2 s a page on one core: a 200-page scan is already minutes of one worker's time.
MAX_OCR_PAGES = 200
OCR_TIMEOUT_SECONDS = 120
# `--psm 6` (one uniform block of text) reads typed pages and forms that the default automatic layout analysis
# returns almost nothing for (measured in shared/STACK.md).
PAGE_SEGMENTATION_MODE = "6"
# Below this orientation confidence Tesseract's OSD is guessing; the page is read as it is.
MIN_ORIENTATION_CONFIDENCE = 1.5

_FORMATS = {"PNG": PNG, "JPEG": JPEG, "MPO": JPEG, "TIFF": TIFF, "WEBP": WEBP}
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")


def looks_like_image(data: bytes) -> bool:
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise ExtractionError(
            "image_too_large",
            f"The image is {width}×{height} pixels; the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels.",
        )


def _open(data: bytes) -> Image.Image:
    """The image, opened lazily (only its header is read). One Pillow cannot identify is reported as unsupported:
    nothing says what it is."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ExtractionError("image_too_large", "The image is too large to decode safely.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedType("an image that cannot be read") from exc
    _check_pixels(*image.size)
    return image


def image_media_type(data: bytes) -> str:
    """The media type of an image upload, checked from its header (size included); raises ExtractionError."""
    image = _open(data)
    media_type = _FORMATS.get(image.format or "")
    if media_type is None:
        raise UnsupportedType(f"a {image.format} image")
    return media_type


@functools.cache
def tesseract_version() -> str:
    """`5.3.0`, from `tesseract --version`; raises ExtractionError when the engine is not installed."""
    if shutil.which("tesseract") is None:
        raise ExtractionError(
            "ocr_unavailable", "This file needs OCR, and the OCR engine (tesseract-ocr) is not installed here."
        )
    output = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"tesseract\s+v?(\S+)", output.stdout + output.stderr)
    return match.group(1) if match else "unknown"


@functools.cache
def _languages() -> frozenset[str]:
    output = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
    return frozenset(line.strip() for line in output.stdout.splitlines()[1:] if line.strip())


def _tesseract(image: Image.Image, *args: str) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PPM")  # uncompressed: the cheapest format for both sides of the pipe
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # OpenMP threads thrash on 2 cores (6x slower, measured)
    try:
        result = subprocess.run(
            ["tesseract", "stdin", "stdout", *args],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=OCR_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError("ocr_failed", f"OCR took longer than {OCR_TIMEOUT_SECONDS} s on one page.") from exc
    if result.returncode != 0:
        # OSD gives up on a page with too little text; that is an answer ("no idea"), not a failure.
        if "--psm" in args and args[args.index("--psm") + 1] == "0":
            return ""
        raise ExtractionError("ocr_failed", "The OCR engine could not read a page of this file.")
    return result.stdout.decode("utf-8", errors="replace")


_L_WORD = re.compile(r"(?<![^\W\d_])l([a-z]{2,})\b")


def _known_name(word: str) -> bool:
    lowered = word.lower()
    return lowered in GIVEN_NAMES or lowered in SURNAMES or lowered in first_names() or lowered in surname_ranks()


def fix_capital_i(text: str) -> str:
    """Tesseract reads a capital I as a small l at the start of a word ("Kavya lyer", "lshaan"): a word that is no
    name as read but a known given name or surname with its I back is put right, so the name recognizers, which
    look for capitalised words, see the name. Ordinary words are left alone ("lives", "lyric" are no names)."""

    def repair(match: re.Match[str]) -> str:
        word = match.group(0)
        candidate = "I" + match.group(1)
        return candidate if _known_name(candidate) and not _known_name(word) else word

    return _L_WORD.sub(repair, text)


def _orientation(image: Image.Image) -> tuple[int, str]:
    """(degrees to turn the page counter-clockwise so that it reads upright, script) from Tesseract's OSD."""
    if "osd" not in _languages():
        return 0, ""
    report = _tesseract(image, "--psm", "0", "-l", "osd")
    rotate = re.search(r"Rotate:\s*(\d+)", report)
    confidence = re.search(r"Orientation confidence:\s*([\d.]+)", report)
    script = re.search(r"Script:\s*(\w+)", report)
    degrees = int(rotate.group(1)) if rotate else 0
    if confidence is None or float(confidence.group(1)) < MIN_ORIENTATION_CONFIDENCE:
        degrees = 0
    return degrees, script.group(1) if script else ""


def _prepare(image: Image.Image) -> Image.Image:
    """Grey, upright as the camera recorded it, on white where it was transparent, at most OCR_MAX_PIXELS."""
    image = ImageOps.exif_transpose(image) or image  # phones store portrait photos sideways plus an EXIF flag
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, "white")
        image = Image.alpha_composite(background, rgba)
    image = image.convert("L")
    pixels = image.width * image.height
    if pixels > OCR_MAX_PIXELS:
        factor = math.sqrt(OCR_MAX_PIXELS / pixels)
        image = image.resize((max(1, int(image.width * factor)), max(1, int(image.height * factor))))
    return image


def is_blank(image: Image.Image) -> bool:
    """No dark pixel at all: nothing to read (a blank page costs Tesseract a second for nothing)."""
    low = image.convert("L").getextrema()[0]  # (min, max) for a one-band image
    return isinstance(low, int | float) and low > 200


def ocr_page(image: Image.Image, page: int, record: OcrRecord) -> str:
    """The text of one page image; notes its rotation, the languages used and the time taken in `record` (the
    caller records the page as OCR'd if it uses the text)."""
    started = time.perf_counter()
    image = _prepare(image)
    text = ""
    if not is_blank(image):
        record.version = tesseract_version()  # also refuses clearly when the engine is missing
        degrees, script = _orientation(image)
        if degrees:
            # OSD's "Rotate" is clockwise; Pillow turns counter-clockwise.
            image = image.rotate(-degrees, expand=True, fillcolor=255)
            record.rotated[page] = degrees
        languages = "hin+eng" if script == "Devanagari" and "hin" in _languages() else "eng"
        text = _tesseract(image, "--psm", PAGE_SEGMENTATION_MODE, "-l", languages)
        record.languages.extend(languages.split("+"))
    record.seconds += time.perf_counter() - started
    return fix_capital_i(text.replace("\x0c", "").strip())


def new_record() -> OcrRecord:
    return OcrRecord(engine="tesseract", version="")


def _frames(image: Image.Image) -> Iterator[Image.Image]:
    """The pages of a TIFF, the frames of an animated image; a camera's JPEG (MPO) is one picture, whatever
    previews it carries."""
    if image.format in ("JPEG", "MPO"):
        yield image
        return
    for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
        if number > MAX_OCR_PAGES:
            raise ExtractionError("too_many_pages", f"The image has more than {MAX_OCR_PAGES} pages to OCR.")
        _check_pixels(*frame.size)
        yield frame


def extract_image(data: bytes) -> tuple[list[Section], OcrRecord]:
    """Every page (frame) of a scan or photo, OCR'd; a damaged image fails with `corrupt_file`."""
    image = _open(data)
    record = new_record()
    sections: list[Section] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            for number, frame in enumerate(_frames(image), start=1):
                frame.load()
                text = ocr_page(frame, number, record)
                if text:
                    record.pages.append(number)
                    sections.append(Section(label=f"page {number}", text=text))
    except ExtractionError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ExtractionError("image_too_large", "The image is too large to decode safely.") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise ExtractionError("corrupt_file", "The image is damaged and cannot be read.") from exc
    return sections, record
