from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from cleanroom.routing import DEFAULT_ALIAS, region_aliases


class Command(BaseCommand):
    help = "Apply migrations to every region store of CLEANROOM_REGIONS (the default database is `migrate`'s)."

    def handle(self, *args: Any, **options: Any) -> None:
        for alias in sorted(region_aliases() - {DEFAULT_ALIAS}):
            call_command("migrate", database=alias, interactive=False, verbosity=options["verbosity"])
            self.stdout.write(f"Migrated region store {alias}.")
