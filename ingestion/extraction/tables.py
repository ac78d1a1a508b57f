"""Rows of a table (a CSV file, a spreadsheet's sheet) as `header: value` lines people and search can read."""

from __future__ import annotations

from ingestion.extraction.base import Section

# Table rows are grouped into sections of about this many words, so that a chunk names the rows it holds.
ROWS_SECTION_WORDS = 120


def rows_to_sections(sheet: str, rows: list[tuple[int, list[str]]]) -> list[Section]:
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
