from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cleanroom.audit.services import audit_verify
from cleanroom.errors import ServiceError
from retrieval.replay import answer_replay


class Command(BaseCommand):
    help = (
        "Audit trail tools. `audit verify` checks the hash chain and fails if any entry was edited or deleted. "
        "`audit replay <id>` re-runs an audited answer with its recorded chunks, model and sampling and fails "
        "unless the text is identical."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "replay"])
        parser.add_argument("event_id", nargs="?", type=int, help="for replay: the query.answered entry's id")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "replay":
            self._replay(options["event_id"])
            return
        report = audit_verify()
        for problem in report.problems:
            self.stderr.write(problem)
        if not report.ok:
            raise CommandError(
                f"Audit trail is NOT intact: {len(report.problems)} problem(s) in {report.checked} entries."
            )
        self.stdout.write(f"Audit trail intact: {report.checked} entries verified.")

    def _replay(self, event_id: int | None) -> None:
        if event_id is None:
            raise CommandError("usage: manage.py audit replay <event id>")
        try:
            result = answer_replay(event_id=event_id)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(result.answer)
        checks = (
            f"prompt {'identical' if result.prompt_identical else 'DIFFERENT'}, "
            f"model file {'identical' if result.model_identical else 'DIFFERENT'}"
        )
        if not result.identical:
            raise CommandError(f"Replay of entry {event_id} gave a DIFFERENT answer ({checks}).")
        self.stdout.write(f"Replay of entry {event_id}: identical answer ({checks}).")
