from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cleanroom.tenants.models import Tenant
from ingestion.leakscan import leakscan_run


class Command(BaseCommand):
    help = (
        "Re-analyse every stored chunk, title and file name of a tenant with a stricter detector pass and report "
        "personal data that slipped through (positions and types, never values). Exits 1 if anything is found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--threshold", type=float, default=None, help="score threshold (default: settings)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant '{options['tenant']}'.")
        leaks = leakscan_run(tenant=tenant, threshold=options["threshold"])
        for leak in leaks:
            if leak.row_id:  # a text stored outside documents (a conversation message, a feedback comment)
                self.stdout.write(f"{leak.source} {leak.row_id}: {leak.entity_type} (score {leak.score})")
                continue
            where = f"chunk {leak.chunk_id}" if leak.chunk_id is not None else "title/file name"
            self.stdout.write(f"document {leak.document_id} {where}: {leak.entity_type} (score {leak.score})")
        counts = Counter(leak.entity_type for leak in leaks)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
        if leaks:
            raise CommandError(f"Leak scan of {tenant.slug}: {len(leaks)} possible leak(s): {summary}.")
        self.stdout.write(f"Leak scan of {tenant.slug}: no personal data found.")
