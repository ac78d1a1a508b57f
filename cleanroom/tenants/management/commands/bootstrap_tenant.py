from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cleanroom.tenants.models import Role
from cleanroom.tenants.services import tenant_bootstrap


class Command(BaseCommand):
    help = (
        "Create whatever is missing of a tenant, a user and their membership, then print a new API token "
        "as the last line of output (for scripts: `... | tail -n1`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug, e.g. acme-bank")
        parser.add_argument("--user", required=True, help="Username")
        parser.add_argument("--role", default=Role.EDITOR, choices=Role.values)
        parser.add_argument("--password", help="Set this password (otherwise a new user gets no usable password)")
        parser.add_argument("--staff", action="store_true", help="Also give the user access to Django admin")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            membership, key, created = tenant_bootstrap(
                slug=options["tenant"],
                username=options["user"],
                role=options["role"],
                password=options["password"],
                staff=options["staff"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Created" if created else "Found"
        self.stdout.write(
            f"{verb} user {membership.user.username!r}; role {membership.role!r} in tenant {membership.tenant.slug!r}."
        )
        self.stdout.write(key)
