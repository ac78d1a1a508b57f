"""Ingestion throughput on the SciFact abstracts, through the real pipeline, against its stages alone.

    python -m bench.ingest [--dataset ../shared/eval/scifact] [--limit N] [--batch 32] [--broker redis://...]
                           [--scans N] [--json]

1. Starts a real Celery worker process (solo pool: one process, whose peak RSS is read from /proc/<pid>/status
   VmHWM), warms it up with one document, then uploads every abstract through `document_upload` (quarantine,
   database row, audit entry, task on the broker) and waits until all are indexed or failed: extraction,
   Presidio, chunking, MiniLM, pgvector inserts and the per-document status and audit writes all happen in the
   worker. End-to-end time runs from the first upload to the last document done.
2. Stops the worker, then in this process times the two heavy stages alone on the same chunk texts (the
   abstracts extracted and chunked by the same pure functions): Presidio only (`redact_many` on all chunk texts
   at once) and embedding only (`embed` on the texts the pipeline embeds).
3. Prints documents/s, chunks/s, the worker's peak RSS and overhead_ratio = end-to-end / (Presidio + embedding).

With `--scans N` the first N abstracts go in as scans instead: each typed on a page with Pillow (150 dpi, PNG), so
the worker OCRs them (Tesseract) in the mix; OCR alone is timed on the same images (OCR pages/s), and counts as a
stage in the overhead ratio.

It uses its own database (`cleanroom_bench` in the embedded PostgreSQL, emptied at start) and its own broker
queue, so it touches nothing else. SciFact is read in place, never copied.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = "../shared/eval/scifact"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DEFAULT_DATASET, help="Folder holding SciFact's corpus.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="Ingest only the first N documents")
    parser.add_argument("--batch", type=int, default=0, help="Documents per worker batch (default: the setting)")
    parser.add_argument(
        "--broker",
        default=os.environ.get("CLEANROOM_BENCH_BROKER", "redis://127.0.0.1:6379/14"),
        help="Redis URL of the broker (a private queue is used on it)",
    )
    parser.add_argument("--scans", type=int, default=0, help="Upload the first N abstracts as scanned pages (OCR)")
    parser.add_argument("--json", action="store_true", help="Also print the figures as JSON on the last line")
    return parser.parse_args()


def _load_corpus(dataset: Path, limit: int) -> list[dict[str, str]]:
    corpus = dataset / "corpus.jsonl"
    if not corpus.exists():
        sys.exit(f"{corpus} not found; pass --dataset")
    rows = []
    with corpus.open() as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                rows.append({"id": str(row["_id"]), "title": row.get("title", ""), "text": row.get("text", "")})
            if limit and len(rows) >= limit:
                break
    return rows


def _file_bytes(row: dict[str, str]) -> bytes:
    return _scan(row["text"]) if row.get("scan") else row["text"].encode()


def _file_name(row: dict[str, str]) -> str:
    return f"scifact-{row['id']}.png" if row.get("scan") else f"scifact-{row['id']}.txt"


def _scan(text: str) -> bytes:
    """`text` typed on an A4 page at 150 dpi (what fits on one page), as a PNG: a scan for the OCR to read."""
    import io
    import textwrap

    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=26)
    for number, line in enumerate(textwrap.wrap(text, 78)[:36]):
        draw.text((90, 90 + number * 44), line, fill=0, font=font)
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue()


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    from cleanroom.celery import worker_command

    process = subprocess.Popen(
        worker_command(pool="solo", hostname=f"bench-{uuid.uuid4().hex[:6]}@%h", alone=True),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process


def _wait_done(tenant: Any, total: int, timeout: float, process: subprocess.Popen) -> dict[str, int]:  # noqa: ANN401
    """Wait until the tenant's `total` documents are indexed or failed. One cheap count per half second: the
    benchmark must not take CPU from the worker it measures (a count over thousands of ids, five times a second,
    took a fifth of a core)."""
    from django.db.models import Count

    from ingestion.models import Document

    deadline = time.monotonic() + timeout
    done_states = [Document.Status.INDEXED, Document.Status.FAILED]
    documents = Document.objects.filter(tenant=tenant)
    while True:
        if documents.filter(status__in=done_states).count() >= total:
            break
        if process.poll() is not None:
            sys.exit("the worker exited; see its log")
        if time.monotonic() > deadline:
            sys.exit("timed out with documents not done")
        time.sleep(0.5)
    return dict(documents.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))


def main() -> None:
    args = _args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanroom.settings")
    if not os.environ.get("DATABASE_URL"):
        os.environ["CLEANROOM_DB_NAME"] = "cleanroom_bench"
    os.environ["CELERY_BROKER_URL"] = args.broker
    queue = f"bench-ingest-{uuid.uuid4().hex[:8]}"

    import django
    from django.conf import settings

    os.environ["CLEANROOM_CELERY_QUEUE"] = queue
    from cleanroom.bootstrap import bootstrap

    bootstrap()  # data dir, keys, the embedded PostgreSQL: settings only read the environment
    django.setup()

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from cleanroom.tenants.services import tenant_bootstrap
    from ingestion.models import Document
    from ingestion.upload import document_upload

    dataset = Path(args.dataset).expanduser().resolve()  # relative to where the command runs (the repo root)
    rows = _load_corpus(dataset, args.limit)
    for row in rows[: args.scans]:
        row["scan"] = "1"
    call_command("migrate", interactive=False, verbosity=0)
    if settings.DATABASES["default"]["NAME"] == "cleanroom_bench":
        call_command("flush", interactive=False, verbosity=0)
    membership, _, _ = tenant_bootstrap(slug="bench-scifact", username="bench", role="editor")
    warm_membership, _, _ = tenant_bootstrap(slug="bench-warmup", username="bench-warm", role="editor")
    tenant, warm_tenant = membership.tenant, warm_membership.tenant
    Document.objects.filter(tenant__in=[tenant, warm_tenant]).delete()

    env = {
        **os.environ,
        "CLEANROOM_DB_NAME": settings.DATABASES["default"]["NAME"],
        "CELERY_BROKER_URL": args.broker,
        "C_FORCE_ROOT": "1",
    }
    if args.batch:
        env["CLEANROOM_INGEST_BATCH_DOCUMENTS"] = str(args.batch)
    log_path = ROOT / "var" / "bench-ingest-worker.log"
    log_path.parent.mkdir(exist_ok=True)
    worker = _start_worker(env, log_path)
    try:
        # Warm-up: the worker loads Presidio, spaCy and MiniLM on its first document, not on the clock.
        document_upload(
            tenant=warm_tenant,
            user=None,
            upload=SimpleUploadedFile("warmup.txt", b"Warm-up text written by Ada Lovelace on 1 March 2020."),
        )
        _wait_done(warm_tenant, 1, 600, worker)
        print(f"worker warm; ingesting {len(rows)} documents", file=sys.stderr)

        started = time.perf_counter()
        ids = []
        for row in rows:
            outcome = document_upload(
                tenant=tenant,
                user=None,
                upload=SimpleUploadedFile(_file_name(row), _file_bytes(row)),
                title=row["title"],
            )
            ids.append(str(outcome.document.pk))
        uploaded = time.perf_counter() - started
        states = _wait_done(tenant, len(ids), 6 * 3600, worker)
        end_to_end = time.perf_counter() - started
        peak_mb = _peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()

    chunks = sum(Document.objects.filter(pk__in=ids).values_list("chunk_count", flat=True))
    from cleanroom.policies.selectors import tenant_policy

    stages = _isolated_stages(rows, tenant_policy(tenant=tenant).redact_entities)
    presidio_s, embed_s, stage_chunks, ocr_s, ocr_pages = stages

    figures = {
        "documents": len(rows),
        "indexed": states.get("indexed", 0),
        "failed": states.get("failed", 0),
        "chunks": chunks,
        "end_to_end_s": round(end_to_end, 2),
        "upload_s": round(uploaded, 2),
        "presidio_only_s": round(presidio_s, 2),
        "embedding_only_s": round(embed_s, 2),
        "isolated_chunks": stage_chunks,
        "docs_per_s": round(len(rows) / end_to_end, 2),
        "chunks_per_s": round(chunks / end_to_end, 2),
        "scanned_documents": args.scans and min(args.scans, len(rows)),
        "ocr_pages": ocr_pages,
        "ocr_only_s": round(ocr_s, 2),
        "ocr_pages_per_s": round(ocr_pages / ocr_s, 3) if ocr_s else None,
        "overhead_ratio": round(end_to_end / (presidio_s + embed_s + ocr_s), 3),
        "worker_peak_rss_mb": round(peak_mb, 1),
        "batch_documents": int(env.get("CLEANROOM_INGEST_BATCH_DOCUMENTS", settings.INGEST_BATCH_DOCUMENTS)),
    }
    print(
        f"{figures['documents']} documents ({figures['indexed']} indexed, {figures['failed']} failed), "
        f"{chunks} chunks in {end_to_end:.1f} s (uploads {uploaded:.1f} s of it)\n"
        f"  {figures['docs_per_s']} documents/s, {figures['chunks_per_s']} chunks/s\n"
        f"  stages alone on the same {stage_chunks} chunk texts: Presidio {presidio_s:.1f} s + "
        f"embedding {embed_s:.1f} s"
        + (f" + OCR {ocr_s:.1f} s ({ocr_pages} pages, {ocr_pages / ocr_s:.2f} pages/s)" if ocr_s else "")
        + f" = {presidio_s + embed_s + ocr_s:.1f} s\n"
        f"  overhead ratio (end-to-end / stages) {figures['overhead_ratio']}  (target <= 1.15)\n"
        f"  worker peak RSS {peak_mb:.0f} MB  (target < 2560 MB)"
    )
    if args.json:
        print(json.dumps(figures))


def _isolated_stages(rows: list[dict[str, str]], entities: frozenset[str]) -> tuple[float, float, int, float, int]:
    """Presidio alone and MiniLM alone, in this process, on the chunk texts the pipeline produces; and the time
    extraction took on the scans (OCR), with their page count."""
    from django.conf import settings

    from cleanroom.pii.engine import redact_many
    from ingestion.chunking import chunk_sections
    from ingestion.embeddings import embed
    from ingestion.extraction import extract
    from ingestion.pipeline import embedding_text

    texts, embed_inputs = [], []
    ocr_s, ocr_pages = 0.0, 0
    for row in rows:
        data = _file_bytes(row)
        started = time.perf_counter()
        extracted = extract(data, _file_name(row))
        if extracted.ocr is not None:
            ocr_s += time.perf_counter() - started
            ocr_pages += len(extracted.ocr.pages)
        pieces = chunk_sections(
            [(s.label, s.text) for s in extracted.sections],
            target_words=settings.CHUNK_TARGET_WORDS,
            overlap_words=settings.CHUNK_OVERLAP_WORDS,
        )
        for piece in pieces:
            texts.append(piece.text)
            embed_inputs.append(embedding_text(row["title"], piece.section, piece.text))
    redact_many(["Warm-up text written by Ada Lovelace."], entities=entities)
    embed(["warm up"])
    started = time.perf_counter()
    redact_many(texts, entities=entities)
    presidio_s = time.perf_counter() - started
    started = time.perf_counter()
    embed(embed_inputs, kind="passage", batch_size=settings.EMBEDDING_BATCH_SIZE)
    embed_s = time.perf_counter() - started
    return presidio_s, embed_s, len(texts), ocr_s, ocr_pages


if __name__ == "__main__":
    main()
