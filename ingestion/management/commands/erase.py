from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cleanroom.errors import ServiceError
from cleanroom.tenants.models import Tenant
from ingestion.erasure import erasure_execute


class Command(BaseCommand):
    help = (
        "Right to erasure: find every document and chunk that mentioned a data principal's identifier (e-mail, "
        "phone, Aadhaar, PAN, name), re-redact or remove them, destroy their vault entries, and print the receipt "
        "with a verification scan. Exits non-zero if the scan still finds the identifier."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--identifier", required=True)
        parser.add_argument("--mode", choices=["redact", "remove"], default="redact")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant '{options['tenant']}'.")
        try:
            receipt = erasure_execute(tenant=tenant, identifier=options["identifier"], actor=None, mode=options["mode"])
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(receipt.receipt, indent=2))
        if not receipt.verified:
            raise CommandError("The verification scan still finds the identifier; see the receipt's hits.")
