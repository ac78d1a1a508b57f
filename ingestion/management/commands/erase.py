from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cleanroom.errors import ServiceError
from cleanroom.tenants.models import Tenant
from ingestion.erasure import erasure_execute, erasure_preview


class Command(BaseCommand):
    help = (
        "Right to erasure: find every document and chunk that mentioned a data principal's identifier (e-mail, "
        "phone, Aadhaar, PAN, name), re-redact or remove them, destroy their vault entries, and print the receipt "
        "with a verification scan. Exits non-zero if the scan still finds the identifier. `--dry-run` prints what "
        "would change and changes nothing; `--mode remove` asks for confirmation unless `--yes` is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--identifier", required=True)
        parser.add_argument("--mode", choices=["redact", "remove"], default="redact")
        parser.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
        parser.add_argument("--yes", action="store_true", help="remove without asking (for scripts)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant '{options['tenant']}'.")
        identifier, mode = options["identifier"], options["mode"]
        try:
            if options["dry_run"] or (mode == "remove" and not options["yes"]):
                plan = erasure_preview(tenant=tenant, identifier=identifier, actor=None, mode=mode)
                self.stdout.write(json.dumps(plan, indent=2))
                if options["dry_run"]:
                    return
                self._confirm_removal(len(plan["documents_to_remove"]))
            receipt = erasure_execute(tenant=tenant, identifier=identifier, actor=None, mode=mode)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(receipt.receipt, indent=2))
        if not receipt.verified:
            raise CommandError("The verification scan still finds the identifier; see the receipt's hits.")

    def _confirm_removal(self, documents: int) -> None:
        # Removing deletes whole documents, also ones that only mentioned the person once: ask a human first.
        if not sys.stdin.isatty():
            raise CommandError(f"--mode remove would delete {documents} document(s); run again with --yes to do so.")
        answer = input(f"Delete these {documents} document(s) with their chunks? Type 'yes' to continue: ")
        if answer.strip().lower() != "yes":
            raise CommandError("Nothing was removed.")
