"""Quarantine: the raw bytes of an upload (and its unredacted title and file name) wait here, outside the
database, until a worker has redacted them; they are deleted once the document is indexed or has failed."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from django.conf import settings


def quarantine_paths(document_id: uuid.UUID | str) -> tuple[Path, Path]:
    base = Path(settings.UPLOAD_DIR) / str(document_id)
    return base.with_suffix(".bin"), base.with_suffix(".json")


def review_path(document_id: uuid.UUID | str) -> Path:
    return (Path(settings.UPLOAD_DIR) / str(document_id)).with_suffix(".review.json")


def discard_raw(document_id: uuid.UUID | str) -> None:
    for path in (*quarantine_paths(document_id), review_path(document_id)):
        path.unlink(missing_ok=True)


def park_review_texts(document_id: uuid.UUID, texts: list[str]) -> None:
    """A held document's texts as they would be stored, for its reviewer: first-pass redacted, so they hold no
    more than the raw upload beside them, and deleted with it."""
    _write_private(review_path(document_id), json.dumps(texts).encode())


def review_texts(document_id: uuid.UUID | str) -> list[str] | None:
    try:
        texts = json.loads(review_path(document_id).read_text())
    except FileNotFoundError:
        return None
    return [str(text) for text in texts]


def _write_private(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so that a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def park_raw(document_id: uuid.UUID, data: bytes, filename: str, title: str) -> None:
    raw_path, meta_path = quarantine_paths(document_id)
    _write_private(raw_path, data)
    _write_private(meta_path, json.dumps({"filename": filename, "title": title.strip()[:300]}).encode())
