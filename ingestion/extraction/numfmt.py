"""A spreadsheet cell as the sheet shows it: Excel number formats applied to the value openpyxl read.

openpyxl gives the value and its format code but renders nothing, and no maintained Python library does (`ssf`, a
port of SheetJS's formatter, was last released in 2020): this covers what documents use — dates and times,
thousands separators (Indian lakh grouping too), decimals, percentages, currency symbols and literal text. An
exotic code (fractions, conditions) falls back to the plain number, never to a wrong one."""

from __future__ import annotations

import datetime as dt
import re

_QUOTED_OR_ESCAPED = re.compile(r'"([^"]*)"|\\(.)|_(.)|\*(.)')
_BRACKET = re.compile(r"\[([^\]]*)\]")
_DATE_TOKEN = re.compile(
    r"yyyy|yy|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|AM/PM|am/pm|A/P|a/p|\.0+|\[h+\]|\[m+\]|\[s+\]", re.I
)


def _sections(code: str) -> list[str]:
    """The `;`-separated sections of a format code (positive; negative; zero; text), quotes respected."""
    parts, current, quoted = [], "", False
    for ch in code:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _currency(match: re.Match[str]) -> str:
    """`[$₹-4009]` shows ₹, `[$-409]` (a locale only) nothing, `[Red]` or `[>=100]` nothing."""
    inner = match.group(1)
    if inner.startswith("$"):
        return '"' + inner[1:].split("-", 1)[0] + '"'
    return ""


def _literals(section: str) -> str:
    """Quoted text, escaped characters and padding as the literal text they show (placeholders kept)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return "\0" + match.group(1) + "\1"
        if match.group(2) is not None:
            return "\0" + match.group(2) + "\1"
        return " " if match.group(3) is not None else ""

    return _QUOTED_OR_ESCAPED.sub(replace, section)


def _general(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def _group(digits: str, indian: bool) -> str:
    if not indian or len(digits) <= 3:
        return f"{int(digits):,}" if digits else digits
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *groups, tail] if head else [*groups, tail])


def _number(value: float, section: str) -> str:
    section = _literals(_BRACKET.sub(_currency, section))
    # Placeholders live outside literal text: find them with the literals blanked out.
    bare = re.sub("\x00[^\x01]*\x01", lambda m: "\x02" * len(m.group(0)), section)
    placeholder = re.search(r"[0#?][0#?,.]*|\.[0#?]+", bare)
    if placeholder is None:  # only text, as in a zero section that shows "-"
        literal = section.replace("\0", "").replace("\1", "").strip()
        return literal or _general(value)
    if "/" in bare or re.search(r"[Ee][+-]", bare):
        return _general(value)
    pattern = placeholder.group(0)
    value *= 100 ** bare.count("%")
    integer, _, decimals = pattern.partition(".")
    places = sum(ch in "0#?" for ch in decimals)
    while integer.endswith(","):  # a trailing comma scales by a thousand
        value /= 1000
        integer = integer[:-1]
    text = f"{abs(value):.{places}f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(decimals.count("0"), "0")  # "#" shows a digit only when it is one
    places = len(fraction)
    if "," in integer:
        # #,##,##0 groups in twos after the first three digits: lakhs and crores.
        indian = bool(re.search(r",[0#?]{2},", integer))
        whole = _group(whole, indian)
    if whole == "0" and not integer.count("0"):
        whole = ""
    rendered = whole + ("." + fraction if places else "")
    out = section[: placeholder.start()] + rendered + section[placeholder.end() :]
    return out.replace("\0", "").replace("\1", "").strip()


def _date(value: dt.date | dt.time | dt.datetime | dt.timedelta, code: str) -> str:
    if isinstance(value, dt.timedelta):
        hours, rest = divmod(int(value.total_seconds()), 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    moment = value if isinstance(value, dt.datetime) else None
    if moment is None:
        moment = (
            dt.datetime.combine(value, dt.time())
            if isinstance(value, dt.date)
            else dt.datetime.combine(dt.date(1900, 1, 1), value)
        )
    section = _literals(_BRACKET.sub(lambda m: m.group(0) if re.fullmatch(r"\[[hms]+\]", m.group(0)) else "", code))
    twelve_hour = bool(re.search(r"AM/PM|A/P", section, re.I))
    tokens = list(_DATE_TOKEN.finditer(section))
    out, last = [], 0
    for index, match in enumerate(tokens):
        out.append(section[last : match.start()])
        token, lower = match.group(0), match.group(0).lower()
        previous = tokens[index - 1].group(0).lower() if index else ""
        following = tokens[index + 1].group(0).lower() if index + 1 < len(tokens) else ""
        if lower in ("m", "mm") and (previous.startswith("h") or following.startswith("s")):
            out.append(f"{moment.minute:02d}" if lower == "mm" else str(moment.minute))
        elif lower == "yyyy":
            out.append(f"{moment.year:04d}")
        elif lower == "yy":
            out.append(f"{moment.year % 100:02d}")
        elif lower == "mmmmm":
            out.append(moment.strftime("%B")[0])
        elif lower == "mmmm":
            out.append(moment.strftime("%B"))
        elif lower == "mmm":
            out.append(moment.strftime("%b"))
        elif lower == "mm":
            out.append(f"{moment.month:02d}")
        elif lower == "m":
            out.append(str(moment.month))
        elif lower == "dddd":
            out.append(moment.strftime("%A"))
        elif lower == "ddd":
            out.append(moment.strftime("%a"))
        elif lower in ("dd", "d"):
            out.append(f"{moment.day:02d}" if lower == "dd" else str(moment.day))
        elif lower in ("hh", "h"):
            hour = (moment.hour % 12 or 12) if twelve_hour else moment.hour
            out.append(f"{hour:02d}" if lower == "hh" else str(hour))
        elif lower in ("ss", "s"):
            out.append(f"{moment.second:02d}" if lower == "ss" else str(moment.second))
        elif lower in ("am/pm", "a/p"):
            marker = "AM" if moment.hour < 12 else "PM"
            out.append(marker if lower == "am/pm" else marker[0])
        elif lower.startswith("."):
            out.append(f"{moment.microsecond / 1e6:.{len(token) - 1}f}"[1:])
        else:  # [h] [m] [s]: elapsed time, shown as the clock time for a moment
            out.append(str(moment.hour if "h" in lower else moment.minute if "m" in lower else moment.second))
        last = match.end()
    out.append(section[last:])
    return "".join(out).replace("\0", "").replace("\1", "").strip()


def cell_text(value: object, number_format: str) -> str:
    """`value` (as openpyxl reads it: numbers, dates already converted by the cell's format, text, booleans) as
    the sheet displays it with `number_format`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        code = _sections(number_format or "")[0]
        if not _DATE_TOKEN.search(code) or code.lower() == "general":
            code = "yyyy-mm-dd" if not isinstance(value, dt.time) else "hh:mm:ss"
        return _date(value, code)
    if isinstance(value, int | float):
        code = number_format or "General"
        if code.lower() == "general" or code == "@":
            return _general(value)
        sections = _sections(code)
        if value < 0 and len(sections) > 1:
            return _number(-value, sections[1])
        if value == 0 and len(sections) > 2:
            return _number(value, sections[2])
        text = _number(value, sections[0])
        return f"-{text}" if value < 0 and not text.startswith("-") else text
    return str(value).strip()
