"""A one-line progress bar with rate and ETA for terminals (and plain lines when not a terminal). Pure."""

from __future__ import annotations

import sys
import time
from typing import Protocol


class Stream(Protocol):
    """What the bar writes to: a text stream such as sys.stderr, or a management command's OutputWrapper."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def progress_line(done: int, total: int, elapsed: float, *, unit: str = "files", width: int = 30) -> str:
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else None
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "." * (width - filled)
    eta_text = format_duration(eta) if eta is not None else "--"
    return f"[{bar}] {done}/{total} {unit}  {rate:.1f} {unit}/s  ETA {eta_text}"


class Progress:
    def __init__(self, total: int, *, unit: str = "files", stream: Stream | None = None) -> None:
        self.total, self.unit, self.done = total, unit, 0
        self.stream: Stream = stream or sys.stderr
        self.started = time.monotonic()
        self._last_plain = 0.0
        self._tty = self.stream.isatty()

    def advance(self, n: int = 1) -> None:
        self.done += n
        line = progress_line(self.done, self.total, time.monotonic() - self.started, unit=self.unit)
        if self._tty:
            self.stream.write("\r" + line)
            self.stream.flush()
        elif time.monotonic() - self._last_plain >= 5 or self.done >= self.total:  # a log file: a line per 5 s
            self._last_plain = time.monotonic()
            self.stream.write(line + "\n")

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
