from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cleanroom.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit trail tools. `audit verify` checks the hash chain and fails if any entry was edited or deleted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        for problem in report.problems:
            self.stderr.write(problem)
        if not report.ok:
            raise CommandError(
                f"Audit trail is NOT intact: {len(report.problems)} problem(s) in {report.checked} entries."
            )
        self.stdout.write(f"Audit trail intact: {report.checked} entries verified.")
