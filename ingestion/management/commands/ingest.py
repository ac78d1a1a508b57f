from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cleanroom.errors import ServiceError
from cleanroom.tenants.models import Tenant
from ingestion.models import Document
from ingestion.pipeline import document_process
from ingestion.progress import Progress
from ingestion.upload import document_upload


def walk(paths: list[str]) -> list[Path]:
    """Files under `paths`, in a stable order (so that an interrupted run resumes where it was), hidden ones
    skipped."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / name for name in sorted(files) if not name.startswith("."))
        else:
            raise CommandError(f"{raw}: no such file or folder")
    return found


class Command(BaseCommand):
    help = (
        "Ingest files and folders into a tenant through the real pipeline (extraction, redaction, embeddings, "
        "pgvector), in batches, in this process. Files the tenant already has (same bytes) are skipped, so an "
        "interrupted run is resumed by running the same command again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Files or folders (walked recursively)")
        parser.add_argument("--tenant", required=True, help="Tenant slug")
        parser.add_argument("--reingest", action="store_true", help="Process files the tenant already has again")
        parser.add_argument("--batch", type=int, default=settings.INGEST_BATCH_DOCUMENTS, help="Documents per batch")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r} (create it with bootstrap_tenant)")
        files = walk(options["paths"])
        batch = max(1, options["batch"])
        outcome: dict[Path, tuple[str, str]] = {}  # path -> (indexed|skipped|failed|pending, reason)
        # The bar redraws one line with "\r"; Django's OutputWrapper would end every write with a newline.
        progress = Progress(len(files), stream=getattr(self.stderr, "_out", self.stderr))
        try:
            for start in range(0, len(files), batch):
                group = files[start : start + batch]
                to_process = self._upload(tenant, group, outcome, reingest=options["reingest"])
                self._process(to_process, outcome, batch)
                progress.advance(len(group))
        except KeyboardInterrupt:
            progress.close()
            self.stderr.write("Interrupted: run the same command again to resume.")
        else:
            progress.close()
        self._summary(files, outcome)

    def _upload(
        self, tenant: Tenant, group: list[Path], outcome: dict[Path, tuple[str, str]], *, reingest: bool
    ) -> dict[Path, Document]:
        to_process: dict[Path, Document] = {}
        for path in group:
            try:
                size = path.stat().st_size
                if size > settings.MAX_UPLOAD_BYTES:
                    limit = settings.MAX_UPLOAD_BYTES // 1048576
                    outcome[path] = ("failed", f"file_too_large: {size / 1048576:.1f} MB, the limit is {limit} MB")
                    continue
                upload = SimpleUploadedFile(path.name, path.read_bytes())
                result = document_upload(tenant=tenant, user=None, upload=upload, reingest=reingest, enqueue=False)
            except ServiceError as exc:
                outcome[path] = ("failed", f"{exc.code}: {exc.message}")
                continue
            except OSError as exc:
                outcome[path] = ("failed", f"unreadable: {exc.strerror or type(exc).__name__}")
                continue
            document = result.document
            if result.duplicate and document.status == Document.Status.INDEXED and not reingest:
                outcome[path] = ("skipped", f"already ingested as {document.pk}")
            else:
                to_process[path] = document
        return to_process

    def _process(self, to_process: dict[Path, Document], outcome: dict[Path, tuple[str, str]], batch: int) -> None:
        pending = {document.pk for document in to_process.values()}
        while pending:
            queued = Document.objects.filter(pk__in=pending, status=Document.Status.QUEUED).values_list("pk", flat=True)
            first = next(iter(queued), None)
            if first is None:
                break  # the rest is held by a worker elsewhere
            document_process(document_id=str(first), batch_size=batch)
            pending -= set(
                Document.objects.filter(
                    pk__in=pending, status__in=[Document.Status.INDEXED, Document.Status.FAILED]
                ).values_list("pk", flat=True)
            )
        states = {d.pk: d for d in Document.objects.filter(pk__in=[d.pk for d in to_process.values()])}
        for path, document in to_process.items():
            current = states.get(document.pk)
            if current is None:
                outcome[path] = ("failed", "deleted while being ingested")
            elif current.status == Document.Status.INDEXED:
                outcome[path] = ("indexed", f"{current.pk}, {current.chunk_count} chunks")
            elif current.status == Document.Status.FAILED:
                outcome[path] = ("failed", f"{current.error_code}: {current.error_message}")
            else:
                outcome[path] = ("pending", f"{current.status} in another worker")

    def _summary(self, files: list[Path], outcome: dict[Path, tuple[str, str]]) -> None:
        counts = Counter(state for state, _ in outcome.values())
        for path in files:
            state, reason = outcome.get(path, ("", ""))
            if state in ("failed", "pending"):
                self.stdout.write(f"{state}: {path}: {reason}")
        not_reached = len(files) - len(outcome)
        self.stdout.write(
            f"indexed {counts['indexed']}, skipped {counts['skipped']} (already ingested), "
            f"failed {counts['failed']}, pending {counts['pending']}"
            + (f", not reached {not_reached}" if not_reached else "")
        )
