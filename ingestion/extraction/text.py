"""Text formats: plain text in any common encoding, CSV, HTML, Markdown."""

from __future__ import annotations

import csv
import io
import re

from charset_normalizer import from_bytes

from ingestion.extraction.base import ExtractionError, Section
from ingestion.extraction.tables import rows_to_sections

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def decode(data: bytes) -> str | None:
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


def looks_like_html(name: str, head: str) -> bool:
    lowered = head.lstrip()[:512].lower()
    return name.lower().endswith((".html", ".htm")) or lowered.startswith(("<!doctype html", "<html"))


def looks_like_csv(text: str) -> bool:
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        return False
    rows = list(csv.reader(io.StringIO(text[:8192]), dialect))[:20]
    return len(rows) >= 1 and max(len(row) for row in rows) >= 2


def extract_csv(text: str) -> list[Section]:
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1)]
    except csv.Error as exc:
        raise ExtractionError("corrupt_file", "The CSV file is malformed and cannot be read.") from exc
    return rows_to_sections("", rows)


def extract_html(text: str) -> list[Section]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    body = soup.body or soup
    content = body.get_text("\n", strip=True)
    return [Section(label=title, text=content)] if content else []


def extract_markdown(text: str) -> list[Section]:
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
